/**
 * Task dispatch: tasks per second and latency from `POST /v1/tasks` to the task's arrival at an agent, through
 * the real server process (persisted, claimed, routed and delivered by dispatch/dispatcher.ts), against the
 * same persistence and delivery I/O without the dispatcher, in the same run. Writes the `dispatch` section of
 * docs/BENCHMARKS.md.
 *
 *   node --import tsx bench/dispatch.ts [--quick]     (bench/run dispatch sets up the sandbox first)
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import { Pool } from "pg";
import { DEFAULT_DISPATCH_CONCURRENCY } from "../dispatch/dispatcher";
import { type ServerProcess, startServerProcess } from "../testkit/server-process";
import { createTask, registerAgent, registerRepo, startAgent, type TestAgent } from "../testkit/agents";
import {
  allDelivered,
  arrivals,
  BASELINE_TABLE,
  CAPABILITY,
  createBaselineTable,
  type DispatchResult,
  deliverDirectly,
  runConcurrently,
  summarize,
  taskPayload,
} from "./lib/dispatch-load";
import { BENCH_SERVER_ENV, createEmptyDatabase } from "./lib/onboarding-server";
import { median, table, writeSection } from "../testkit/report";
import { cpuPerItem, postgresServer, processGroupOf, sampleCpu, thisProcess } from "./lib/process-cpu";

const QUICK = process.argv.includes("--quick");
const RUNS = QUICK ? 3 : 5;
const TASKS = QUICK ? 100 : 500;
const CONCURRENCY = 16;
const AGENTS = 2;
const OWNER = "bench";
const REPO = "widgets";
const AUTH_PROJECT = "proj-bench";

function adminUrl(): string {
  const value = process.env.DATABASE_URL;
  if (!value) throw new Error("DATABASE_URL is not set: run through bench/run, or source .sandbox/env");
  return value;
}

/** CPU µs per task by process: the server's (its process group), PostgreSQL's, this process's (the clients and the agents). */
type CpuPerTask = Record<"server" | "postgres" | "bench" | "total", number>;
type Measured = DispatchResult & { cpu: CpuPerTask };

const cpuGroups = (server?: ServerProcess) => ({
  server: server ? processGroupOf(server.pid) : () => false,
  postgres: postgresServer,
  bench: thisProcess,
});

/** Ours: every task through the API, persisted and delivered by the server's dispatcher. */
async function throughServer(server: ServerProcess, pool: Pool, agents: TestAgent[]): Promise<Measured & { acceptedRate: number }> {
  const started = new Map<string, number>();
  const cpuBefore = sampleCpu(cpuGroups(server));
  await runConcurrently(TASKS, CONCURRENCY, async (i) => {
    const at = performance.now();
    started.set(await createTask(server, { capability: CAPABILITY, owner: OWNER, repo: REPO, payload: taskPayload(i) }), at);
  });
  // Every POST answered 202 (createTask checks it): how fast the API takes tasks, apart from delivering them.
  const acceptedRate = (TASKS / (performance.now() - Math.min(...started.values()))) * 1000;
  const result = summarize(started, await arrivals(agents, TASKS));
  if (!(await allDelivered(pool, "tasks", TASKS))) throw new Error(`ours: not all ${TASKS} tasks are recorded as delivered`);
  const cpu = cpuPerItem(cpuBefore, sampleCpu(cpuGroups(server)), TASKS) as CpuPerTask;
  return { ...result, acceptedRate, cpu };
}

/** Baseline: INSERT, POST straight to an agent, mark delivered; same database, agents and concurrency. */
async function direct(pool: Pool, agents: TestAgent[]): Promise<Measured> {
  const started = new Map<string, number>();
  const cpuBefore = sampleCpu(cpuGroups());
  await runConcurrently(TASKS, CONCURRENCY, async (i) => {
    const [id, at] = await deliverDirectly(pool, agents[i % agents.length], {
      owner: OWNER,
      repo: REPO,
      authProjectId: AUTH_PROJECT,
      payload: taskPayload(i),
    });
    started.set(id, at);
  });
  const result = summarize(started, await arrivals(agents, TASKS));
  if (!(await allDelivered(pool, BASELINE_TABLE, TASKS))) throw new Error(`baseline: not all ${TASKS} tasks are recorded as delivered`);
  return { ...result, cpu: cpuPerItem(cpuBefore, sampleCpu(cpuGroups()), TASKS) as CpuPerTask };
}

/** One round: ours at the default dispatch concurrency then the baseline, and ours at the baseline's concurrency. */
interface Round {
  ours: Measured & { acceptedRate: number };
  oursMatched: Measured & { acceptedRate: number };
  baseline: Measured;
}

/** Ours on a fresh database and server process with fresh agents; then, if asked, the baseline on that database. */
async function onFreshDatabase(dispatchConcurrency: number, withBaseline: boolean): Promise<{ ours: Round["ours"]; baseline?: Measured }> {
  const db = await createEmptyDatabase(adminUrl(), "bench_dispatch");
  let server: ServerProcess | undefined;
  let pool: Pool | undefined;
  const agents: TestAgent[] = [];
  try {
    server = await startServerProcess({
      env: { DATABASE_URL: db.url, ...BENCH_SERVER_ENV, MESH_SIX_DISPATCH_CONCURRENCY: String(dispatchConcurrency) },
    });
    // The server's own pool size, so that neither side has more connections to PostgreSQL.
    pool = new Pool({ connectionString: db.url, max: 10 });
    await registerRepo({ db: { ...db, pool } }, OWNER, REPO, AUTH_PROJECT);
    for (let i = 0; i < AGENTS; i++) {
      const agent = await startAgent();
      agents.push(agent);
      await registerAgent(server, `bench-${i}`, agent.url, { [CAPABILITY]: 1 });
    }
    const ours = await throughServer(server, pool, agents);
    await server.stop();
    server = undefined;
    if (!withBaseline) return { ours };
    for (const a of agents) a.received.length = 0;
    await createBaselineTable(pool);
    return { ours, baseline: await direct(pool, agents) };
  } finally {
    await server?.stop();
    await Promise.all(agents.map((a) => a.close()));
    await pool?.end();
    await db.drop();
  }
}

async function round(): Promise<Round> {
  const first = await onFreshDatabase(DEFAULT_DISPATCH_CONCURRENCY, true);
  const matched = await onFreshDatabase(CONCURRENCY, false);
  return { ours: first.ours, baseline: first.baseline!, oursMatched: matched.ours };
}

const fmtMs = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
const fmtRatio = (v: number) => `${v.toFixed(2)}×`;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const loadAtStart = os.loadavg()[0];
  const rounds: Round[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const r = await round();
    rounds.push(r);
    for (const [name, x] of Object.entries(r))
      console.error(
        `run ${i} ${name}: ${x.rate.toFixed(0)} tasks/s, p50 ${fmtMs(x.p50)}, p99 ${fmtMs(x.p99)}, CPU ${Math.round(x.cpu.total)} µs/task`,
      );
  }
  const med = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
  const row = (name: string, side: keyof Round) => [
    name,
    med((r) => r[side].rate).toFixed(0),
    fmtMs(med((r) => r[side].p50)),
    fmtMs(med((r) => r[side].p99)),
    fmtRatio(med((r) => r[side].rate / r.baseline.rate)),
    fmtRatio(med((r) => r[side].p50 / r.baseline.p50)),
    fmtRatio(med((r) => r[side].p99 / r.baseline.p99)),
  ];
  const us = (v: number) => `${Math.round(v)} µs`;
  const cpuRow = (name: string, side: keyof Round) => [
    name,
    us(med((r) => r[side].cpu.server)),
    us(med((r) => r[side].cpu.postgres)),
    us(med((r) => r[side].cpu.bench)),
    us(med((r) => r[side].cpu.total)),
    fmtRatio(med((r) => r[side].cpu.total / r.baseline.cpu.total)),
  ];
  const accepted = med((r) => r.ours.acceptedRate);
  const delivered = med((r) => r.ours.rate);
  const body = [
    `${TASKS} tasks per run, ${CONCURRENCY} at a time, each with a small issue payload, for capability \`${CAPABILITY}\` of one registered repo; ${AGENTS} agents of equal weight, real HTTP servers on loopback in the benchmark's process (testkit/agents.ts) that answer 202 and stamp each arrival. A task's latency runs from the start of its POST (or INSERT) to its arrival at an agent; tasks/s from the first POST to the last arrival.`,
    "",
    `- **ours**: \`POST /v1/tasks\` to the server process (server/main.ts) on a fresh PostgreSQL database: validated, the repo looked up, the task stored (202), then claimed under a lease by the dispatcher (at most \`MESH_SIX_DISPATCH_CONCURRENCY\` deliveries in flight: the default ${DEFAULT_DISPATCH_CONCURRENCY}, and ${CONCURRENCY} in a second server process on its own fresh database), routed to the best healthy agent, its attempt recorded, POSTed with the repo's authProjectId, marked delivered.`,
    `- **baseline**: the same persistence and delivery I/O without the API or the dispatcher, from the benchmark's process: INSERT the task into a copy of the tasks table on the same database (a pool of the same size, 10), POST it straight to an agent (round-robin), UPDATE it to delivered.`,
    "",
    table(
      ["pipeline", "tasks/s", "p50", "p99", "tasks/s vs baseline", "p50 vs baseline", "p99 vs baseline"],
      [
        row("baseline", "baseline"),
        row(`ours, ${DEFAULT_DISPATCH_CONCURRENCY} deliveries in flight (the default)`, "ours"),
        row(`ours, ${CONCURRENCY} in flight (MESH_SIX_DISPATCH_CONCURRENCY=${CONCURRENCY}, the baseline's concurrency)`, "oursMatched"),
      ],
    ),
    "",
    "CPU time per task (the scheduler's time of each thread, from /proc before and after each run, through its last delivered-mark), by process: the server process, PostgreSQL's (every backend: the server's pool, or the baseline's), and the benchmark's own (its HTTP clients and the agents). On these 2 cores the processes share, the rates follow the total:",
    "",
    table(
      ["pipeline", "server", "PostgreSQL", "benchmark process", "total", "total vs baseline"],
      [
        cpuRow("baseline", "baseline"),
        cpuRow(`ours, ${DEFAULT_DISPATCH_CONCURRENCY} in flight`, "ours"),
        cpuRow(`ours, ${CONCURRENCY} in flight`, "oursMatched"),
      ],
    ),
    "",
    `Ours (the default concurrency) accepted the tasks (every POST answered 202) at ${accepted.toFixed(0)} tasks/s and delivered them at ${delivered.toFixed(0)} tasks/s${accepted > 1.2 * delivered ? ": tasks queue in the database for one of the dispatcher's delivery slots, and that wait is most of their latency" : ""}.`,
    "",
    `Medians of ${RUNS} rounds; each run of ours is a fresh database and server process (the agents' open attempts, which the dispatcher's routing counts, start from zero); a round is ours at ${DEFAULT_DISPATCH_CONCURRENCY}, the baseline on the same database, then ours at ${CONCURRENCY}; ratios are taken within a round. Checked every round: every task reached an agent exactly once, and every task is recorded as delivered in the database.`,
    "",
    `Whole benchmark: ${((Date.now() - startedAt) / 1000).toFixed(0)} s; load average at its start ${loadAtStart.toFixed(1)} on ${os.cpus().length} CPUs (the machine is shared: compare ratios, not absolute figures, across sections).`,
  ].join("\n");
  writeSection("dispatch", "Task dispatch", `bench/run dispatch${QUICK ? " --quick" : ""}`, body);
  console.log(body);
}

main().catch((err: Error) => {
  console.error(`bench dispatch failed: ${err.message}`);
  process.exit(1);
});
