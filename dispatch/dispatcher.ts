import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Pool } from "pg";
import {
  type Candidate,
  candidates,
  claimTask,
  closeOpenAttempt,
  exhaustTask,
  failAttempt,
  markDelivered,
  renewTaskLease,
  repoAuthProject,
  startAttempt,
  type TaskRecord,
} from "./task-store";
import { LeaseLost, ShuttingDown } from "../lib/abort";
import { defaultLogger, type Logger } from "../lib/logger";
import { PollPause } from "../lib/poll-pause";
import { stringifyWithRaw } from "../lib/raw-json";

export interface DispatcherOptions {
  pool: Pool;
  /** An agent whose last heartbeat is older than this is not picked (default 60 s). */
  agentStaleMs?: number;
  /** How long a delivery stays ours without a heartbeat; heartbeats come three times per lease. */
  leaseMs?: number;
  pollMs?: number;
  /** Most deliveries in flight from this process. */
  concurrency?: number;
  /** Full-jitter backoff: the n-th retry waits a random time in [0, min(maxMs, baseMs * 2^(n-1))). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  workerId?: string;
  log?: Logger;
  /** Random source for the jitter (tests). */
  random?: () => number;
}

/**
 * "Full jitter" exponential backoff (our own, not the exponential-backoff package: the wait must be
 * persisted as next_attempt_at so it survives a restart, rather than slept in a promise chain).
 */
export function fullJitterDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The agent's score: its weight for the capability, times its recent success rate (Laplace-smoothed so a
 * new agent starts at 1/2), divided by its current load plus one. Untried agents come before tried ones.
 */
export function pickAgent(list: readonly Candidate[]): Candidate | undefined {
  const score = (c: Candidate) => (c.weight * ((c.successes + 1) / (c.successes + c.failures + 2))) / (c.load + 1);
  const fresh = list.filter((c) => !c.tried);
  const pool = fresh.length > 0 ? fresh : list;
  return [...pool].sort((a, b) => score(b) - score(a) || a.agent.registeredAt.getTime() - b.agent.registeredAt.getTime())[0];
}

/**
 * Delivers tasks to agents. A worker loop claims due tasks from Postgres under a lease (tasks whose lease
 * lapsed — a dispatcher died mid-delivery — or whose result is overdue are claimed too), picks the best
 * healthy agent, records the attempt, and POSTs the task as stored. A failed or timed-out delivery is
 * retried with backoff until the budget is spent; then, or when no healthy agent is left, the task is
 * FAILED with the reason.
 */
export class Dispatcher {
  readonly workerId: string;
  private readonly pool: Pool;
  private readonly agentStaleMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly active = new Map<string, { done: Promise<void>; controller: AbortController }>();
  private loop?: Promise<void>;
  private stopping = false;
  private readonly pause = new PollPause();

  constructor(opts: DispatcherOptions) {
    this.pool = opts.pool;
    this.agentStaleMs = opts.agentStaleMs ?? 60_000;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.concurrency = opts.concurrency ?? 8;
    this.retryBaseMs = opts.retryBaseMs ?? 1_000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.random = opts.random ?? Math.random;
    this.workerId = opts.workerId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}/dispatch`;
    this.log = opts.log ?? defaultLogger().child({ component: "dispatch" });
  }

  /** Starts claiming; tasks left delivering by a stopped dispatcher are claimed once their lease lapsed. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.work();
  }

  kick(): void {
    this.pause.kick();
  }

  /** Stops claiming and aborts deliveries in flight; each goes back to pending for the next dispatcher. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.kick();
    await this.loop;
    this.loop = undefined;
    for (const { controller } of this.active.values()) controller.abort(new ShuttingDown("the dispatcher is stopping"));
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /** Waits until no delivery is in flight here (tests). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      try {
        while (!this.stopping && this.active.size < this.concurrency) {
          const claimed = await claimTask(this.pool, this.workerId, this.leaseMs);
          if (!claimed) break;
          this.launch(claimed.task, claimed.previous);
        }
      } catch (err) {
        this.log.error(`dispatch loop: ${(err as Error).message}`);
      }
      await this.pause.wait(this.pollMs, this.stopping);
    }
  }

  private launch(task: TaskRecord, previous: string): void {
    const controller = new AbortController();
    const done = this.deliver(task, previous, controller)
      .catch((err: Error) => this.log.child({ taskId: task.id }).error(`delivery failed: ${err.message}`))
      .finally(() => {
        this.active.delete(task.id);
        this.kick();
      });
    this.active.set(task.id, { done, controller });
  }

  private async deliver(task: TaskRecord, previous: string, controller: AbortController): Promise<void> {
    // An attempt still open was cut short: its dispatcher stopped, or its agent never reported in time.
    let lastError = task.error ?? "unknown";
    if (previous === "delivering") {
      lastError = "its dispatcher stopped before the delivery finished";
      await closeOpenAttempt(this.pool, task.id, "interrupted", lastError);
    }
    if (previous === "delivered") {
      lastError = `no result within ${task.timeoutMs} ms`;
      await closeOpenAttempt(this.pool, task.id, "timeout", lastError);
    }

    const used = task.attempts - task.budgetStart;
    if (used >= task.maxAttempts) {
      await exhaustTask(
        this.pool,
        task.id,
        this.workerId,
        `retry budget spent: ${used} of ${task.maxAttempts} attempts failed (last: ${lastError})`,
      );
      return;
    }
    const choice = pickAgent(await candidates(this.pool, task.id, task.capability, this.agentStaleMs));
    if (!choice) {
      const why = used === 0 ? "" : ` after ${used} attempt(s) (last: ${lastError})`;
      await exhaustTask(this.pool, task.id, this.workerId, `no healthy agent offers capability "${task.capability}"${why}`);
      return;
    }
    // Read per task from the registry at each delivery: never a global project.
    const authProjectId = await repoAuthProject(this.pool, task.owner, task.repo);
    if (authProjectId === undefined) {
      await exhaustTask(this.pool, task.id, this.workerId, `repository ${task.owner}/${task.repo} is no longer registered`);
      return;
    }
    const attempt = await startAttempt(this.pool, task.id, this.workerId, choice.agent.id);
    if (attempt === undefined) return; // another dispatcher took it over

    // Exactly what was stored: the payload's own text, priority and timeout, read back from the row.
    const body = stringifyWithRaw(
      {
        taskId: task.id,
        capability: task.capability,
        repo: `${task.owner}/${task.repo}`,
        authProjectId,
        payload: null,
        priority: task.priority,
        timeoutMs: task.timeoutMs,
      },
      { payload: task.payloadJson },
    );
    const heartbeat = setInterval(
      () => {
        renewTaskLease(this.pool, task.id, this.workerId, this.leaseMs)
          .then((held) => {
            if (!held) controller.abort(new LeaseLost("another dispatcher took the task over"));
          })
          .catch((err: Error) => this.log.child({ taskId: task.id }).warn(`heartbeat failed: ${err.message}`));
      },
      Math.max(10, Math.floor(this.leaseMs / 3)),
    );
    let failure: { outcome: "http_error" | "timeout"; error: string } | undefined;
    try {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(task.timeoutMs)]);
      const res = await fetch(choice.agent.endpoint, { method: "POST", headers: { "content-type": "application/json" }, body, signal });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) failure = { outcome: "http_error", error: `agent ${choice.agent.name} answered HTTP ${res.status}` };
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof LeaseLost) return;
      if (reason instanceof ShuttingDown) {
        await failAttempt(this.pool, task.id, this.workerId, attempt, "interrupted", "the dispatcher stopped during the delivery", 0);
        return;
      }
      const name = (err as Error)?.name;
      failure =
        name === "TimeoutError"
          ? { outcome: "timeout", error: `agent ${choice.agent.name} did not answer within ${task.timeoutMs} ms` }
          : { outcome: "http_error", error: `agent ${choice.agent.name} unreachable: ${(err as Error)?.message ?? String(err)}` };
    } finally {
      clearInterval(heartbeat);
    }
    if (!failure) {
      await markDelivered(this.pool, task.id, this.workerId, attempt);
      return;
    }
    // The last attempt failed: no wait, the next claim ends the task with the reason.
    const inBudget = attempt - task.budgetStart;
    const delay = inBudget >= task.maxAttempts ? 0 : fullJitterDelay(inBudget, this.retryBaseMs, this.retryMaxMs, this.random);
    await failAttempt(this.pool, task.id, this.workerId, attempt, failure.outcome, failure.error, delay);
    this.log.child({ taskId: task.id }).warn(`attempt ${attempt} failed (${failure.error}); next in ${delay} ms`);
    if (delay <= this.pollMs) setTimeout(() => this.kick(), delay).unref();
  }
}
