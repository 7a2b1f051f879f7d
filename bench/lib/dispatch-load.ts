/**
 * The dispatch benchmark's two pipelines, measured the same way: each task is timed from the moment its POST
 * (ours) or its INSERT (baseline) starts to its arrival at an agent, the agents being real HTTP servers in
 * this process (testkit/agents.ts) that stamp each arrival.
 *
 * The baseline is the persistence and delivery I/O without the dispatcher: INSERT the task into a copy of the
 * tasks table on the same database, POST it straight to an agent (round-robin), mark it delivered.
 */
import { performance } from "node:perf_hooks";
import type { Pool } from "pg";
import type { TestAgent } from "../../testkit/agents";
import { waitFor } from "../../testkit/server";
import { percentile } from "../../testkit/report";

export const CAPABILITY = "implement";
export const BASELINE_TABLE = "bench_baseline_tasks";

export interface DispatchResult {
  /** Tasks per second from the first POST (or INSERT) to the last arrival. */
  rate: number;
  p50: number;
  p99: number;
}

/** What a task from the orchestrator looks like: an issue to plan, with enough text to be a real payload. */
export function taskPayload(i: number): Record<string, unknown> {
  return {
    kind: "issue",
    issueNumber: 1000 + i,
    title: `Widget list renders twice after a filter change (#${1000 + i})`,
    body: "Steps to reproduce:\n1. Open the widget list\n2. Change the filter\n\nExpected: one list. Actual: the list is rendered twice until the page is reloaded.",
    labels: ["mesh-six"],
    author: "octocat",
    url: `https://github.com/acme/widgets/issues/${1000 + i}`,
  };
}

/** Runs job(0..n-1) with at most `concurrency` of them at once. */
export async function runConcurrently(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

/** The agents' arrivals by task id, once `n` tasks arrived; a task arriving twice is an error. */
export async function arrivals(agents: readonly TestAgent[], n: number, timeoutMs = 120_000): Promise<Map<string, number>> {
  const all = await waitFor(
    () => {
      const received = agents.flatMap((a) => a.received);
      return received.length >= n && received;
    },
    `${n} tasks to reach an agent`,
    timeoutMs,
  );
  const byTask = new Map(all.map((d) => [d.body.taskId, d.at]));
  if (byTask.size !== all.length) throw new Error(`${all.length - byTask.size} tasks were delivered more than once`);
  return byTask;
}

export function summarize(started: ReadonlyMap<string, number>, arrived: ReadonlyMap<string, number>): DispatchResult {
  const latencies: number[] = [];
  for (const [id, at] of started) {
    const end = arrived.get(id);
    if (end === undefined) throw new Error(`task ${id} never reached an agent`);
    latencies.push(end - at);
  }
  const first = Math.min(...started.values());
  const last = Math.max(...arrived.values());
  return { rate: (started.size / (last - first)) * 1000, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function createBaselineTable(pool: Pool): Promise<void> {
  await pool.query(`CREATE TABLE ${BASELINE_TABLE} (LIKE tasks INCLUDING ALL)`);
}

/** The baseline for one task; returns its id and when it started. */
export async function deliverDirectly(
  pool: Pool,
  agent: TestAgent,
  given: { owner: string; repo: string; authProjectId: string; payload: unknown },
): Promise<[string, number]> {
  const { owner, repo, authProjectId, payload } = given;
  const started = performance.now();
  const { rows } = await pool.query<{ id: string; priority: number; timeout_ms: number }>(
    `INSERT INTO ${BASELINE_TABLE} (capability, owner, repo, payload, timeout_ms, delivery_status, attempts) VALUES ($1, $2, $3, $4, 300000, 'delivering', 1)
     RETURNING id, priority, timeout_ms`,
    [CAPABILITY, owner, repo, JSON.stringify(payload)],
  );
  const task = rows[0];
  const body = JSON.stringify({
    taskId: task.id,
    capability: CAPABILITY,
    repo: `${owner}/${repo}`,
    authProjectId,
    payload,
    priority: task.priority,
    timeoutMs: task.timeout_ms,
  });
  const res = await fetch(agent.url, { method: "POST", headers: { "content-type": "application/json" }, body });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`baseline delivery of ${task.id}: HTTP ${res.status}`);
  await pool.query(`UPDATE ${BASELINE_TABLE} SET delivery_status = 'delivered', updated_at = now() WHERE id = $1`, [task.id]);
  return [task.id, started];
}

/** Whether every one of the `n` rows of `table` is recorded as delivered, given time to get there. */
export async function allDelivered(pool: Pool, table: string, n: number, timeoutMs = 30_000): Promise<boolean> {
  const count = async () =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE delivery_status = 'delivered'`)).rows[0].n;
  return waitFor(async () => (await count()) === n, `${n} ${table} rows to be delivered`, timeoutMs).catch(() => false);
}
