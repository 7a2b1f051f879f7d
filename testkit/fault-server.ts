/**
 * Shared set-up of the fault tests: the real server (testkit/server-process.ts) on its own database and its
 * own file state backend, real onboardings of repositories created in the GitHub emulator, the ledger of what
 * the server accepted against what the database holds, and the secrets that must not appear in any log line.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Pool } from "pg";
import { removeStack, selectStack, workspaceSettings } from "../pulumi/workspace";
import { DatabaseStackSettings } from "../db/stack-settings";
import { type RepoRef, stackNameFor, vaultWebhookPath } from "../domain/names";
import { type ServerProcess, type ServerProcessOptions, startServerProcess } from "./server-process";
import { createTestDatabase } from "./database";
import { type FaultResult, type Ledger, linesWithSecrets, recordFault } from "./fault-report";
import { emulator } from "./github-emulator";
import { type RunBody, waitFor } from "./server";
import { readVaultSecret } from "./vault-api";

export const TERMINAL = ["succeeded", "failed", "cancelled"];

export interface FaultServerOptions {
  /** The server's database; by default a fresh one on the sandbox's PostgreSQL, dropped by cleanup(). */
  databaseUrl?: string;
  /** Extra environment of every server process started (e.g. a KUBECONFIG through a proxy). */
  env?: Record<string, string | undefined>;
  /**
   * Pulumi's state in the server's database (the deployed default) rather than a file backend; each server process
   * then starts in its own empty working and temp directories, sharing nothing but the database.
   */
  stateInDatabase?: boolean;
}

export interface StoredRunEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: Date;
}

export interface Accepted {
  status: number;
  runId?: string;
  position?: number | null;
  body: Record<string, unknown>;
}

export interface FaultServer {
  /** The server running now (start() replaces it). */
  server: ServerProcess;
  databaseUrl: string;
  /** For the test's own reads of the ledger; it survives a database restart (errors of idle clients are ignored). */
  pool: Pool;
  /** Lines the test itself produced (the preview's output), scanned for secrets with the server's. */
  captured: string[];
  /** Every server process started, in order. */
  servers: ServerProcess[];
  /** Starts another server process on the same database, state backend and token; `env` overrides the set-up's for it. */
  start(env?: Record<string, string | undefined>): Promise<ServerProcess>;
  /** POST /v1/onboardings; a 2xx answer goes into the ledger as accepted. */
  onboard(ref: RepoRef, extra?: Record<string, unknown>): Promise<Accepted>;
  getRun(runId: string): Promise<RunBody>;
  waitForRun(runId: string, statuses: string[], timeoutMs: number): Promise<RunBody>;
  /** The run's events, oldest first, straight from the database. */
  events(runId: string): Promise<StoredRunEvent[]>;
  /** Waits until the run has recorded an event `matches` accepts (e.g. the engine's first resource). */
  waitForEvent(runId: string, what: string, matches: (event: StoredRunEvent) => boolean, timeoutMs: number): Promise<void>;
  runs: { accepted(): number; accounted(): Promise<number> };
  /** Preview with the server's backend and passphrase: the non-"same" changes (empty when consistent) and pending operations. */
  checkStack(ref: RepoRef): Promise<{ changes: Record<string, number>; pendingOperations: number }>;
  /** Every line that must be free of secrets: each server process's logs, the run events, and `captured`. */
  logLines(): Promise<string[]>;
  /** The secrets of this set-up plus the repos' webhook secrets (read from Vault now, before cleanup removes them). */
  secrets(refs: RepoRef[]): Promise<string[]>;
  /** Asserted by the caller; recorded here for docs/RELIABILITY.md. */
  report(result: Omit<FaultResult, "runs" | "logLines" | "secretsInLogs">, refs: RepoRef[]): Promise<{ ledger: Ledger; leaks: string[] }>;
  /** Stops every server process, destroys the stacks onboarded, drops the database (if it made it) and the state. */
  cleanup(refs: RepoRef[]): Promise<void>;
}

/**
 * The time a test's waits may still take: its node:test timeout less what its cleanup (destroying real stacks)
 * needs, so that a slow run fails an assertion and is cleaned up rather than being abandoned by the timeout.
 */
export function timeBudget(testTimeoutMs: number, cleanupMs = 120_000): () => number {
  const end = Date.now() + testTimeoutMs - cleanupMs;
  return () => Math.max(1_000, end - Date.now());
}

/** The first line of a failure reason, short enough for a table cell. */
export function firstLine(text: string | null | undefined): string {
  const line = (text ?? "").split("\n")[0];
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** An owner no other test (or earlier run) uses, so stacks, hooks and Kubernetes names never collide. */
export function uniqueOwner(prefix: string): string {
  return `fault-${prefix}-${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

export async function createEmulatorRepo(ref: RepoRef): Promise<void> {
  const created = await emulator("POST", "/_emulator/repos", {
    owner: ref.owner,
    name: ref.repo,
    owner_type: "Organization",
    auto_init: true,
  });
  if (created.status !== 201) throw new Error(`creating ${ref.owner}/${ref.repo} in the GitHub emulator: HTTP ${created.status}`);
}

export async function startFaultServer(opts: FaultServerOptions = {}): Promise<FaultServer> {
  const ownDb = opts.databaseUrl ? undefined : await createTestDatabase("fault");
  const databaseUrl = opts.databaseUrl ?? ownDb!.url;
  const stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-fault-state-"));
  const passphrase = randomBytes(18).toString("base64url");
  const token = randomBytes(24).toString("base64url");
  const pool = new Pool({ connectionString: databaseUrl, max: 3 });
  pool.on("error", () => undefined);
  const backend = opts.stateInDatabase
    ? {
        PULUMI_BACKEND_URL: undefined,
        MESH_SIX_SECRETS_PROVIDER: "passphrase",
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
      }
    : { PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_CONFIG_PASSPHRASE_FILE: undefined };
  const processOptions: ServerProcessOptions = {
    token,
    readyTimeoutMs: 60_000,
    env: {
      DATABASE_URL: databaseUrl,
      ...backend,
      // Short enough that a dead worker's run is taken over within seconds.
      MESH_SIX_RUN_LEASE_MS: "3000",
      MESH_SIX_POLL_MS: "200",
      MESH_SIX_RUN_SHUTDOWN_GRACE_MS: "1000",
      MESH_SIX_POD_READY_TIMEOUT_MS: "60000",
      // The policy pack wants a webhook on https or loopback; no delivery reaches it in these tests.
      MESH_SIX_PUBLIC_URL: "http://127.0.0.1:8080",
      ...opts.env,
    },
  };
  const servers: ServerProcess[] = [];
  const podDirs: string[] = [];
  // A replica on its own machine: nothing on disk in common with the others (the stateInDatabase case).
  const startOne = async (env: Record<string, string | undefined> = {}) => {
    if (!opts.stateInDatabase) return startServerProcess({ ...processOptions, env: { ...processOptions.env, ...env } });
    const cwd = await mkdtemp(path.join(tmpdir(), "mesh-six-replica-"));
    const tmp = await mkdtemp(path.join(tmpdir(), "mesh-six-replica-tmp-"));
    podDirs.push(cwd, tmp);
    return startServerProcess({ ...processOptions, cwd, env: { ...processOptions.env, TMPDIR: tmp, ...env } });
  };
  try {
    servers.push(await startOne());
  } catch (err) {
    await pool.end().catch(() => undefined);
    await ownDb?.drop();
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
  const acceptedIds = new Set<string>();
  const onboarded = new Set<string>();
  const captured: string[] = [];
  const settings = workspaceSettings(
    { ...process.env, ...backend, DATABASE_URL: databaseUrl },
    { stackSettings: new DatabaseStackSettings(pool) },
  );
  settings.envVars = { ...settings.envVars, PULUMI_CONFIG_PASSPHRASE: passphrase, DATABASE_URL: databaseUrl };

  const fs: FaultServer = {
    server: servers[0],
    databaseUrl,
    pool,
    captured,
    servers,
    async start(env) {
      const next = await startOne(env);
      servers.push(next);
      fs.server = next;
      return next;
    },
    async onboard(ref, extra = {}) {
      onboarded.add(`${ref.owner}/${ref.repo}`);
      const res = await fs.server.request("/v1/onboardings", { method: "POST", json: { ...ref, skipAuth: true, ...extra } });
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      const runId = typeof body.runId === "string" ? body.runId : undefined;
      if (res.ok && runId) acceptedIds.add(runId);
      return { status: res.status, runId, position: body.position as number | null | undefined, body };
    },
    async getRun(runId) {
      const res = await fs.server.request(`/v1/runs/${runId}`);
      if (res.status !== 200) throw new Error(`GET /v1/runs/${runId}: HTTP ${res.status}`);
      return (await res.json()) as RunBody;
    },
    waitForRun(runId, statuses, timeoutMs) {
      return waitFor(
        async () => {
          const run = await fs.getRun(runId).catch(() => undefined);
          return run && statuses.includes(run.status) ? run : undefined;
        },
        `run ${runId} to be ${statuses.join("|")}`,
        timeoutMs,
      );
    },
    async events(runId) {
      const { rows } = await pool.query("SELECT seq, type, data, created_at FROM run_events WHERE run_id = $1 ORDER BY seq", [runId]);
      return rows.map((r) => ({
        seq: r.seq as number,
        type: r.type as string,
        data: r.data as Record<string, unknown>,
        at: r.created_at as Date,
      }));
    },
    async waitForEvent(runId, what, matches, timeoutMs) {
      await waitFor(async () => (await fs.events(runId)).some(matches), what, timeoutMs);
    },
    runs: {
      accepted: () => acceptedIds.size,
      async accounted() {
        const { rows } = await pool.query("SELECT count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])", [
          [...acceptedIds],
          TERMINAL,
        ]);
        return rows[0].n as number;
      },
    },
    async checkStack(ref) {
      const stack = await selectStack(stackNameFor(ref), settings);
      const preview = await stack.preview({ onOutput: (text) => captured.push(...text.split("\n")) });
      const changes = Object.fromEntries(
        Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0),
      ) as Record<string, number>;
      const exported = await stack.exportStack();
      const pending = (exported.deployment as { pending_operations?: unknown[] }).pending_operations ?? [];
      return { changes, pendingOperations: pending.length };
    },
    async logLines() {
      const { rows } = await pool.query(
        "SELECT type, data::text AS data FROM run_events WHERE run_id = ANY($1::uuid[]) ORDER BY run_id, seq",
        [[...acceptedIds]],
      );
      return [...servers.flatMap((s) => s.logs), ...rows.map((r) => `${r.type} ${r.data}`), ...captured];
    },
    async secrets(refs) {
      const hooks = await Promise.all(refs.map((ref) => readVaultSecret(vaultWebhookPath(ref)).catch(() => undefined)));
      return [
        token,
        decodeURIComponent(new URL(databaseUrl).password),
        process.env.VAULT_TOKEN,
        process.env.GITHUB_TOKEN,
        process.env.GITHUB_EMULATOR_TOKEN,
        passphrase,
        ...hooks.flatMap((h) => [h?.secret, h?.previous]),
      ].filter((s): s is string => typeof s === "string" && s.length > 0);
    },
    async report(result, refs) {
      const ledger = { accepted: fs.runs.accepted(), accounted: await fs.runs.accounted() };
      const lines = await fs.logLines();
      const leaks = linesWithSecrets(lines, await fs.secrets(refs));
      recordFault({ ...result, runs: ledger, logLines: lines.length, secretsInLogs: leaks.length });
      return { ledger, leaks };
    },
    async cleanup(refs) {
      await Promise.all(servers.map((s) => s.kill()));
      for (const ref of refs.filter((r) => onboarded.has(`${r.owner}/${r.repo}`))) {
        try {
          const stack = await selectStack(stackNameFor(ref), settings);
          await stack.cancel().catch(() => undefined);
          await stack.destroy({ onOutput: () => undefined });
          await removeStack(stack, settings, { force: true });
        } catch (err) {
          console.error(`cleanup of ${stackNameFor(ref)}: ${(err as Error).message.split("\n")[0]}`);
        }
      }
      await pool.end().catch(() => undefined);
      await ownDb?.drop();
      await rm(stateDir, { recursive: true, force: true });
      await Promise.all(podDirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
  return fs;
}
