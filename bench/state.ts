/**
 * State benchmarks (docs/BENCHMARKS.md, section "state"), against the sandbox with the real server and CLI:
 *   1. a first onboarding and a no-op re-onboard with Pulumi's state in PostgreSQL (the deployed default, secrets by
 *      Vault transit) vs the file backend (passphrase), samples alternated so drift of the machine hits both;
 *   2. 20 repos (quick: 6) onboarded at once by 3 replicas vs by 1, at the same total run concurrency (2; the cap
 *      holds over all replicas), every replica in its own empty directories with state in the database.
 * Every repo is new (owner bench-state-<random>); every stack is offboarded at the end and the databases dropped.
 *   node --import tsx bench/state.ts [--quick]   (through bench/run state)
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { type ServerProcess, startServerProcess } from "../testkit/server-process";
import type { RepoRef } from "../domain/names";
import { emulator } from "../testkit/github-emulator";
import { BENCH_PUBLIC_URL, createEmptyDatabase, type EmptyDatabase, onboardOverHttp, type RunTiming } from "./lib/onboarding-server";
import { median, ms, ratio, table, writeSection } from "../testkit/report";

const quick = process.argv.includes("--quick");
const plan = quick ? { samples: 2, fleet: 6 } : { samples: 3, fleet: 20 };
const CONCURRENCY = 2;
const log = (message: string) => console.log(`[state] ${message}`);
const tag = randomBytes(3).toString("hex");
const owner = `bench-state-${tag}`;
let repoCounter = 0;

interface Setup {
  name: string;
  env: Record<string, string | undefined>;
  db: EmptyDatabase;
  dirs: string[];
  servers: ServerProcess[];
  repos: RepoRef[];
}

async function newRepo(): Promise<RepoRef> {
  const ref = { owner, repo: `r${String(repoCounter++).padStart(3, "0")}` };
  const created = await emulator("POST", "/_emulator/repos", {
    owner: ref.owner,
    name: ref.repo,
    owner_type: "Organization",
    auto_init: true,
  });
  if (created.status !== 201) throw new Error(`creating ${ref.owner}/${ref.repo}: HTTP ${created.status}`);
  return ref;
}

async function setup(name: string, adminUrl: string, backend: "file" | "postgres"): Promise<Setup> {
  const db = await createEmptyDatabase(adminUrl, `bench_state_${backend}`);
  const dirs: string[] = [];
  const env: Record<string, string | undefined> = {
    DATABASE_URL: db.url,
    MESH_SIX_RUN_CONCURRENCY: String(CONCURRENCY),
    MESH_SIX_PUBLIC_URL: BENCH_PUBLIC_URL,
    MESH_SIX_DRIFT_CHECK_INTERVAL_MS: "0",
    PULUMI_CONFIG_PASSPHRASE: undefined,
    PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
  };
  if (backend === "file") {
    const state = await mkdtemp(path.join(tmpdir(), "mesh-six-bench-state-"));
    dirs.push(state);
    Object.assign(env, { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("base64url") });
  } else {
    Object.assign(env, { PULUMI_BACKEND_URL: undefined, MESH_SIX_SECRETS_PROVIDER: process.env.MESH_SIX_SANDBOX_SECRETS_PROVIDER });
  }
  return { name, env, db, dirs, servers: [], repos: [] };
}

/** A replica of its own: new empty working and temp directories. */
async function startReplica(s: Setup): Promise<ServerProcess> {
  const cwd = await mkdtemp(path.join(tmpdir(), "mesh-six-bench-replica-"));
  const tmp = await mkdtemp(path.join(tmpdir(), "mesh-six-bench-replica-tmp-"));
  s.dirs.push(cwd, tmp);
  const server = await startServerProcess({ env: { ...s.env, TMPDIR: tmp }, cwd, readyTimeoutMs: 120_000 });
  s.servers.push(server);
  return server;
}

async function onboard(s: Setup, server: ServerProcess, ref: RepoRef, expect: "first" | "no-op"): Promise<RunTiming> {
  // A re-onboard is forced: an identical one is answered up-to-date without Pulumi, and the backends' cost is what is compared.
  const run = await onboardOverHttp(server, ref, expect === "no-op" ? { force: true } : {});
  if (run.status !== "succeeded") throw new Error(`${s.name}: onboarding ${ref.repo} ${run.status} at ${run.failure}`);
  const changed = Object.entries(run.changeSummary ?? {}).filter(([op, n]) => op !== "same" && n > 0);
  if (expect === "no-op" && changed.length > 0)
    throw new Error(`${s.name}: re-onboarding ${ref.repo} changed ${JSON.stringify(run.changeSummary)}`);
  if (expect === "first") s.repos.push(ref);
  return run;
}

async function teardown(s: Setup, problems: string[]): Promise<void> {
  const server = s.servers.find((x) => x.child.exitCode === null) ?? (await startReplica(s).catch(() => undefined));
  if (server) {
    const pending = [...s.repos];
    const worker = async () => {
      for (let ref = pending.shift(); ref; ref = pending.shift()) {
        const res = await server.request(`/v1/repos/${ref.owner}/${ref.repo}`, { method: "DELETE" }).catch(() => undefined);
        const runId = res?.ok ? ((await res.json()) as { runId: string }).runId : undefined;
        if (!runId) {
          problems.push(`${s.name}: offboarding ${ref.repo} refused`);
          continue;
        }
        for (;;) {
          const run = (await (await server.request(`/v1/runs/${runId}`)).json()) as { status: string };
          if (["succeeded", "failed", "cancelled"].includes(run.status)) {
            if (run.status !== "succeeded") problems.push(`${s.name}: offboarding ${ref.repo} ${run.status}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  await Promise.all(s.servers.map((x) => x.stop()));
  await s.db.drop().catch((err: Error) => problems.push(`${s.name}: dropping its database: ${err.message}`));
  await Promise.all(s.dirs.map((d) => rm(d, { recursive: true, force: true })));
}

async function main(): Promise<number> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl || !process.env.MESH_SIX_SANDBOX_SECRETS_PROVIDER)
    throw new Error("the sandbox's settings are not in the environment: run bench/run state");
  const began = performance.now();
  const file = await setup("file backend", adminUrl, "file");
  const pg = await setup("PostgreSQL backend", adminUrl, "postgres");
  const fleet1 = await setup("1 replica", adminUrl, "postgres");
  const fleet3 = await setup("3 replicas", adminUrl, "postgres");
  const setups = [file, pg, fleet1, fleet3];
  const problems: string[] = [];
  let body = "";
  try {
    // 1. Same server, same program: only where the state goes differs.
    const [fileServer, pgServer] = [await startReplica(file), await startReplica(pg)];
    const first: Record<string, number[]> = { file: [], pg: [] };
    const noop: Record<string, number[]> = { file: [], pg: [] };
    const up: Record<string, number[]> = { file: [], pg: [] };
    for (let i = 0; i < plan.samples; i++) {
      for (const [key, s, server] of [
        ["file", file, fileServer],
        ["pg", pg, pgServer],
      ] as const) {
        const ref = await newRepo();
        const a = await onboard(s, server, ref, "first");
        const b = await onboard(s, server, ref, "no-op");
        first[key].push(a.totalMs);
        noop[key].push(b.totalMs);
        up[key].push(b.upMs ?? Number.NaN);
        log(`${s.name}: first ${ms(a.totalMs)}, no-op ${ms(b.totalMs)}`);
      }
    }
    const m = (xs: number[]) => median(xs);
    body += `### State in PostgreSQL vs the file backend (medians of ${plan.samples}, alternated)\n\n`;
    body += table(
      ["measure", "file backend (passphrase)", "PostgreSQL backend (Vault transit)", "PostgreSQL / file"],
      [
        ["first onboarding, POST → succeeded", ms(m(first.file)), ms(m(first.pg)), ratio(m(first.pg), m(first.file))],
        ["no-op re-onboard, POST → succeeded", ms(m(noop.file)), ms(m(noop.pg)), ratio(m(noop.pg), m(noop.file))],
        ["no-op re-onboard, its `up` step", ms(m(up.file)), ms(m(up.pg)), ratio(m(up.pg), m(up.file))],
      ],
    );

    // 2. The same batch, the same total concurrency, one replica or three.
    const walls: Record<string, number> = {};
    const perReplica: Record<string, string> = {};
    for (const [s, replicas] of [
      [fleet1, 1],
      [fleet3, 3],
    ] as const) {
      for (let i = 0; i < replicas; i++) await startReplica(s);
      const refs = await Promise.all(Array.from({ length: plan.fleet }, () => newRepo()));
      const started = performance.now();
      // Spread the requests over the replicas, as a Service would.
      await Promise.all(refs.map((ref, i) => onboard(s, s.servers[i % replicas], ref, "first")));
      walls[s.name] = performance.now() - started;
      perReplica[s.name] = await runsPerReplica(s);
      log(`${s.name}: ${plan.fleet} repos in ${ms(walls[s.name])} (${perReplica[s.name]})`);
    }
    body += `\n### ${plan.fleet} repos at once, total run concurrency ${CONCURRENCY}: 3 replicas vs 1\n\n`;
    body += table(
      ["fleet", "wall", "per repo", "runs per replica", "wall vs 1 replica"],
      [fleet1, fleet3].map((s) => [
        s.name,
        ms(walls[s.name]),
        ms(walls[s.name] / plan.fleet),
        perReplica[s.name],
        ratio(walls[s.name], walls[fleet1.name]),
      ]),
    );
  } finally {
    const measured = performance.now();
    for (const s of setups) await teardown(s, problems);
    body += `\nMeasuring took ${ms(measured - began)}, the clean-up ${ms(performance.now() - measured)}.`;
  }
  for (const p of problems) console.error(`[state] clean-up: ${p}`);
  console.log(body);
  writeSection("state", "State backend and replicas", `bench/run${quick ? " --quick" : ""} state`, body);
  return problems.length > 0 ? 1 : 0;
}

/** How many of the fleet's runs each replica started (its worker id, in each run's "running" event, holds its pid). */
async function runsPerReplica(s: Setup): Promise<string> {
  const { Client } = await import("pg");
  const client = new Client({ connectionString: s.db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ worker: string; n: number }>(
      `SELECT split_part(data->>'worker', '/', 2) AS worker, count(DISTINCT run_id)::int AS n FROM run_events
       WHERE type = 'status' AND data->>'status' = 'running' AND data ? 'worker' GROUP BY 1 ORDER BY 2 DESC`,
    );
    return rows.map((r) => `${r.n}`).join(" / ") || "—";
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`[state] ${(err as Error).message}`);
    process.exit(1);
  },
);
