/**
 * The onboarding server as the benchmarks drive it: the real server process (testkit/server-process.ts) on a
 * fresh, empty database of the sandbox's PostgreSQL (the server migrates it, as in production), onboarding over
 * HTTP, and each run's phases read back from its own event log.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Client } from "pg";
import { readSse } from "../../server/sse";
import { type ServerProcess, startServerProcess } from "../../testkit/server-process";
import type { RepoRef } from "../../domain/names";

/** What the server and the CLI baseline share, so that both run the same program on the same kind of stack. */
export interface PulumiEnv {
  PULUMI_BACKEND_URL: string;
  PULUMI_CONFIG_PASSPHRASE: string;
  /** The registry row of every repo stack lands in this database. */
  DATABASE_URL: string;
}

/** The webhook URL every bench repo is given (no delivery is ever made to it). */
export const BENCH_PUBLIC_URL = "http://127.0.0.1:8080";
/**
 * What a server that runs no Pulumi (the webhook and dispatch benchmarks) still needs to start: a public URL, and
 * secrets for the state backend its DATABASE_URL selects.
 */
export const BENCH_SERVER_ENV = {
  MESH_SIX_PUBLIC_URL: BENCH_PUBLIC_URL,
  MESH_SIX_SECRETS_PROVIDER: "passphrase",
  PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("base64url"),
};

export interface EmptyDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new database on the PostgreSQL server named by DATABASE_URL, left empty for the server to migrate. */
export async function createEmptyDatabase(adminUrl: string, prefix: string): Promise<EmptyDatabase> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

export function startBenchServer(env: PulumiEnv, concurrency: number): Promise<ServerProcess> {
  return startServerProcess({
    // No scheduled drift checks: each new server would queue one for every repo onboarded before it, and those
    // runs would share the run slots with the onboardings being measured.
    env: {
      ...env,
      MESH_SIX_RUN_CONCURRENCY: String(concurrency),
      MESH_SIX_PUBLIC_URL: BENCH_PUBLIC_URL,
      MESH_SIX_DRIFT_CHECK_INTERVAL_MS: "0",
    },
    readyTimeoutMs: 120_000,
  });
}

/**
 * One run as seen from the client (POST to the end of its event stream) and, from the server's own event
 * timestamps, where that time went. Phases are undefined when the run never reached them.
 */
export interface RunTiming {
  runId: string;
  kind: string;
  status: string;
  failure?: string;
  changeSummary: Record<string, number> | null;
  /** When the POST was sent (epoch ms). */
  postedAtMs: number;
  /** Of a succeeded run: `applied`, or `up-to-date` (answered from its fingerprint, no Pulumi started). */
  outcome: string | null;
  /** The run as GET /v1/runs/:id shows it at its end (its fingerprint included). */
  record: Record<string, unknown>;
  /** POST sent → event stream closed on the terminal status. */
  totalMs: number;
  /** Accepted → claimed by a worker (waiting for a free slot). */
  queuedMs?: number;
  /** Stack selected or created and its config written. */
  selectMs?: number;
  /** The `up` itself, outputs read back included. */
  upMs?: number;
  /** After `up`: the environment pod's readiness check (the auth step is skipped), then the terminal status. */
  postUpMs?: number;
  /** The run's own events, in order. */
  events: LoggedEvent[];
}

/** A run event as GET /v1/runs/:id/events streams it. */
export interface LoggedEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

/** Onboards a repo (created in the GitHub emulator beforehand) and waits for the run's end; `extra` joins the request (`force`). */
export async function onboardOverHttp(server: ServerProcess, ref: RepoRef, extra: Record<string, unknown> = {}): Promise<RunTiming> {
  const started = performance.now();
  const postedAtMs = Date.now();
  const res = await server.request("/v1/onboardings", {
    method: "POST",
    json: { ...ref, displayName: ref.repo, skipAuth: true, ...extra },
  });
  const body = (await res.json()) as { runId: string; kind: string };
  if (res.status !== 202) throw new Error(`onboarding ${ref.owner}/${ref.repo} refused: HTTP ${res.status} ${JSON.stringify(body)}`);
  return followRun(server, body.runId, started, postedAtMs);
}

async function followRun(server: ServerProcess, runId: string, started: number, postedAtMs: number): Promise<RunTiming> {
  const events: LoggedEvent[] = [];
  // The stream ends when the run is terminal; a dropped connection resumes after the last event seen.
  for (let attempt = 0; ; attempt++) {
    const last = events.at(-1)?.seq;
    const res = await server.request(`/v1/runs/${runId}/events`, { headers: last === undefined ? {} : { "Last-Event-ID": String(last) } });
    if (res.status === 200) {
      try {
        for await (const e of readSse(res)) events.push(JSON.parse(e.data) as LoggedEvent);
      } catch {
        if (attempt >= 5) throw new Error(`run ${runId}: its event stream kept failing`);
      }
    }
    const terminal = events.some((e) => e.type === "status" && ["succeeded", "failed", "cancelled"].includes(String(e.data.status)));
    if (terminal || res.status === 204) break;
    if (res.status !== 200) throw new Error(`run ${runId}: event stream answered HTTP ${res.status}`);
  }
  const totalMs = performance.now() - started;
  const run = (await (await server.request(`/v1/runs/${runId}`)).json()) as {
    kind: string;
    status: string;
    failedStep?: string;
    failureReason?: string;
    changeSummary: Record<string, number> | null;
    outcome: string | null;
  };
  return {
    runId,
    kind: run.kind,
    status: run.status,
    changeSummary: run.changeSummary,
    outcome: run.outcome,
    record: run,
    ...(run.status === "succeeded" ? {} : { failure: `${run.failedStep ?? "?"}: ${run.failureReason ?? "no reason recorded"}` }),
    postedAtMs,
    totalMs,
    ...phases(events),
    events,
  };
}

function phases(events: LoggedEvent[]): Pick<RunTiming, "queuedMs" | "selectMs" | "upMs" | "postUpMs"> {
  const at = (match: (e: LoggedEvent) => boolean) => {
    const found = events.find(match);
    return found ? Date.parse(found.at) : undefined;
  };
  const step = (name: string) => at((e) => e.type === "step" && e.data.step === name);
  const accepted = at((e) => e.type === "status" && e.data.status === "queued");
  const select = step("select-stack");
  const up = step("up");
  const afterUp = step("pod-health");
  const end = [...events].reverse().find((e) => e.type === "status");
  const ended = end ? Date.parse(end.at) : undefined;
  const span = (from?: number, to?: number) => (from !== undefined && to !== undefined ? to - from : undefined);
  return { queuedMs: span(accepted, select), selectMs: span(select, up), upMs: span(up, afterUp), postUpMs: span(afterUp, ended) };
}
