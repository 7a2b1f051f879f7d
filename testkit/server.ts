import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Pool } from "pg";
import { type FingerprintParts, fingerprinterFrom, type RunFingerprinter } from "../pulumi/run-fingerprint";
import type { StackRunner } from "../pulumi/runner";
import { createApp, type ServerApp } from "../server/app";
import { configSecrets, type ServerConfig } from "../server/config";
import { createMetrics } from "../server/metrics";
import { createWorkers } from "../server/workers";
import type { WebhookSecretCache } from "../server/webhooks/secret-cache";
import { type SseEvent, readSse } from "../server/sse";
import type { FingerprintRecord } from "../domain/fingerprint";
import { createTestDatabase, type TestDatabase } from "./database";
import { captureLogs, type LogEntry, logEntries } from "./log-capture";
import { ScriptedRunner } from "./scripted-runner";

export const TEST_TOKEN = "test-token-0123456789abcdef";

/** The program, toolchain and inputs of the server tests' default fingerprinter (no state checkpoint: the runner is scripted). */
export const TEST_FINGERPRINT_PARTS: FingerprintParts = {
  program: "scripted program",
  toolchain: { pulumi: "scripted" },
  inputs: { "env:VAULT_ADDR": "scripted vault" },
};

export interface TestServer {
  url: string;
  db: TestDatabase;
  app: ServerApp;
  runner: ScriptedRunner;
  config: ServerConfig;
  /** Every line the app logged, as the process would print it (JSON, redacted). */
  logs: string[];
  /** The same lines parsed. */
  logEntries(): LogEntry[];
  /** fetch against the server, with the test token unless `token` says otherwise (null: none). */
  request(pathname: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  runner?: ScriptedRunner;
  config?: Partial<ServerConfig>;
  /** Start the queue worker (default true); off, runs stay queued. */
  startQueue?: boolean;
  /** Start the task dispatcher (default true). */
  startDispatcher?: boolean;
  /** Start the board writer when `config.boards` is set (default true). */
  startBoards?: boolean;
  /** Start the notification deliverer (default true). */
  startNotifier?: boolean;
  /** Use this pool instead of a fresh test database's (e.g. one that cannot connect). */
  pool?: Pool;
  /**
   * Fingerprints onboards and updates (default: fixed program, toolchain and inputs, so an identical re-onboard is
   * up-to-date as in the server; `TEST_FINGERPRINT_PARTS`); null: none, every update runs.
   */
  fingerprinter?: RunFingerprinter | null;
  /** The webhook secrets' cache (default: none unless `config.webhooks` names a Vault). */
  webhookSecrets?: WebhookSecretCache;
}

/** The real app on a real socket (port 0) over a fresh database, driven by a scripted runner. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const db = await createTestDatabase("srv");
  const stateDir = mkdtempSync(path.join(tmpdir(), "mesh-six-state-"));
  const runner = opts.runner ?? new ScriptedRunner();
  const config: ServerConfig = {
    port: 0,
    apiTokens: [TEST_TOKEN],
    runConcurrency: 2,
    runLeaseMs: 2000,
    publicUrl: "http://127.0.0.1:8080",
    runShutdownGraceMs: 50,
    pollMs: 50,
    stateBackendUrl: `file://${stateDir}`,
    ...opts.config,
  };
  const { log, lines: logs } = captureLogs({ secrets: configSecrets(config) });
  const pool = opts.pool ?? db.pool;
  const metrics = createMetrics(pool);
  const fingerprinter = opts.fingerprinter === undefined ? fingerprinterFrom(TEST_FINGERPRINT_PARTS) : (opts.fingerprinter ?? undefined);
  const workers = createWorkers({ db: pool, runner: runner as StackRunner, config, metrics, log, fingerprinter });
  const app = createApp({ db: pool, config, metrics, workers, log, webhookSecrets: opts.webhookSecrets });
  if (opts.startQueue ?? true) await app.queue.start();
  if (opts.startDispatcher ?? true) app.dispatcher.start();
  if (opts.startBoards ?? true) app.boards?.start();
  if (opts.startNotifier ?? true) app.notifier.start();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    db,
    app,
    runner,
    config,
    logs,
    logEntries: () => logEntries(logs),
    request(pathname, init = {}) {
      const { token = TEST_TOKEN, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== null) headers.set("authorization", `Bearer ${token}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      return fetch(`${url}${pathname}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
    },
    async close() {
      await app.queue.stop();
      await app.dispatcher.stop();
      await app.drift.stop();
      await app.boards?.stop();
      await app.notifier.stop();
      await app.webhooks.idle();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await db.drop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every `intervalMs` until it returns something truthy. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface RunBody {
  id: string;
  status: string;
  step: string | null;
  kind: string;
  position: number | null;
  failedStep: string | null;
  failureReason: string | null;
  outputs: Record<string, unknown> | null;
  changeSummary: Record<string, number> | null;
  policy: { packs: Record<string, string>; violations: Record<string, unknown>[] } | null;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequested: boolean;
  interruptions: number;
  request: Record<string, unknown>;
  options: Record<string, unknown>;
  outcome: "applied" | "up-to-date" | null;
  upToDateWith: string | null;
  fingerprint: FingerprintRecord | null;
}

export async function getRunBody(srv: TestServer, id: string): Promise<RunBody> {
  const res = await srv.request(`/v1/runs/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/runs/${id}: ${res.status}`);
  return (await res.json()) as RunBody;
}

export function waitForStatus(srv: TestServer, id: string, statuses: string | string[], timeoutMs = 5000): Promise<RunBody> {
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  return waitFor(
    async () => {
      const run = await getRunBody(srv, id);
      return wanted.includes(run.status) ? run : undefined;
    },
    `run ${id} to be ${wanted.join("|")}`,
    timeoutMs,
  );
}

export async function onboard(
  srv: TestServer,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; runId: string; body: Record<string, unknown> }> {
  const res = await srv.request("/v1/onboardings", { method: "POST", json: body, headers });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, runId: json.runId as string, body: json };
}

/** Reads a whole Server-Sent Events response (until the server ends it) into its events. */
export async function readEventStream(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSse(res)) events.push(event);
  return events;
}
