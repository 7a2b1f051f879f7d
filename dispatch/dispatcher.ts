import type { Pool } from "pg";
import {
  type Candidate,
  claimTasks,
  type DeliveredMark,
  type ClaimedTask,
  closeOpenAttempt,
  exhaustTask,
  failAttempt,
  markDelivered,
  renewTaskLease,
  startAttempt,
  startAttempts,
} from "./task-store";
import { LeaseLost, ShuttingDown } from "../lib/abort";
import { keepLease, newWorkerId, WorkerLoop } from "../lib/worker-loop";
import { defaultLogger, type Logger } from "../lib/logger";
import { postJson } from "../lib/post-json";
import { stringifyWithRaw } from "../lib/raw-json";

/** An agent whose last heartbeat is older than this is not picked, unless told otherwise (MESH_SIX_AGENT_STALE_MS). */
export const DEFAULT_AGENT_STALE_MS = 60_000;

/**
 * Most deliveries in flight from one process, unless told otherwise (MESH_SIX_DISPATCH_CONCURRENCY). A slot is a POST
 * waiting for an agent's 202 (a socket and a lease timer, no database connection); it is held from the claim to the
 * answer, so tasks arriving faster than slots × that time queue in the database: at 8, tasks POSTed 16 at a time did
 * (docs/BENCHMARKS.md, dispatch).
 */
export const DEFAULT_DISPATCH_CONCURRENCY = 32;

export interface DispatcherOptions {
  pool: Pool;
  /** An agent whose last heartbeat is older than this is not picked (default DEFAULT_AGENT_STALE_MS). */
  agentStaleMs?: number;
  /** How long a delivery stays ours without a heartbeat; heartbeats come three times per lease. */
  leaseMs?: number;
  pollMs?: number;
  /** Most deliveries in flight from this process. */
  concurrency?: number;
  /** How long stop() may take: deliveries are aborted at once and get this long to hand their task back. */
  shutdownGraceMs?: number;
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
 * A claimed task with its agent. `started`: the attempt already recorded with the claim (a pending task that goes to
 * its agent at once), "lost" when that found the lease gone; undefined when deliver() has checks to make first.
 */
type Claimed = ClaimedTask & { choice: Candidate | undefined; started?: number | "lost" };

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
  private readonly shutdownGraceMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly loop: WorkerLoop<Claimed>;
  /** Deliveries the agent already answered 2xx, still recording that (under the lease): they hold no slot. */
  private marking = 0;
  /**
   * Delivered-marks waiting for the next claim, which records them in its own statement: a delivery's 2xx frees its
   * slot and kicks the loop, so one always follows. Once stopping, marks are written on their own.
   */
  private marks: (DeliveredMark & { done: () => void; failed: (err: unknown) => void })[] = [];
  private stopping = false;

  constructor(opts: DispatcherOptions) {
    this.pool = opts.pool;
    this.agentStaleMs = opts.agentStaleMs ?? DEFAULT_AGENT_STALE_MS;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 10_000;
    this.retryBaseMs = opts.retryBaseMs ?? 1_000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.random = opts.random ?? Math.random;
    this.workerId = opts.workerId ?? newWorkerId("/dispatch");
    this.log = opts.log ?? defaultLogger().child({ component: "dispatch" });
    this.loop = new WorkerLoop({
      concurrency: opts.concurrency ?? DEFAULT_DISPATCH_CONCURRENCY,
      pollMs: this.pollMs,
      claimMany: (max) => this.claim(max),
      key: ({ task }) => task.id,
      work: (claimed, controller) =>
        this.deliver(claimed, controller).catch((err: Error) =>
          this.log.child({ taskId: claimed.task.id }).error(`delivery failed: ${err.message}`),
        ),
      resting: () => this.marking,
      name: "dispatch loop",
      log: this.log,
    });
  }

  /** Starts claiming; tasks left delivering by a stopped dispatcher are claimed once their lease lapsed. */
  start(): void {
    this.stopping = false;
    void this.loop.start();
  }

  kick(): void {
    this.loop.kick();
  }

  /**
   * Stops claiming and aborts deliveries in flight; each goes back to pending for the next dispatcher. One that
   * has not by the end of the grace is left to its lease, which lapses: the next dispatcher claims it then.
   */
  async stop(): Promise<void> {
    // No claim may follow now: the marks waiting for one are written here, and those that come later on their own.
    this.stopping = true;
    if (this.marks.length > 0) await this.withMarks((marks) => markDelivered(this.pool, this.workerId, marks)).catch(() => undefined);
    const now = Date.now();
    const left = await this.loop.stop({
      deadline: now + this.shutdownGraceMs,
      abortAt: now,
      reason: new ShuttingDown("the dispatcher is stopping"),
    });
    if (left.length > 0) this.log.warn(`deliveries still stopping after the shutdown grace, left to their lease: ${left.join(", ")}`);
  }

  /**
   * Claims up to `max` tasks and picks each one's agent. The candidates' load was read before any of this claim's
   * tasks was given out: each pick counts toward the load the next one sees, so that a claim's tasks are spread.
   */
  private async claim(max: number): Promise<Claimed[]> {
    const claimed = await this.withMarks((marks) => claimTasks(this.pool, this.workerId, this.leaseMs, max, this.agentStaleMs, marks));
    const given = new Map<string, number>();
    const picked: Claimed[] = claimed.map((c) => {
      const choice = pickAgent(c.candidates.map((a) => ({ ...a, load: a.load + (given.get(a.agent.id) ?? 0) })));
      if (choice) given.set(choice.agent.id, (given.get(choice.agent.id) ?? 0) + 1);
      return { ...c, choice };
    });
    // The claim's pending tasks that go straight to their agent (deliver() would find nothing to close or end first)
    // get their attempts recorded together: one statement for the claim rather than one per task.
    const direct = picked.filter(
      (c) =>
        c.previous === "pending" &&
        c.choice !== undefined &&
        c.authProjectId !== undefined &&
        c.task.attempts - c.task.budgetStart < c.task.maxAttempts,
    );
    const attempts = await startAttempts(
      this.pool,
      this.workerId,
      direct.map((c) => ({ taskId: c.task.id, agentId: c.choice!.agent.id })),
    );
    for (const c of direct) c.started = attempts.get(c.task.id) ?? "lost";
    return picked;
  }

  /** Resolves once the task is recorded as delivered: by the next claim, or on its own once stopping. */
  private markDelivered(mark: DeliveredMark): Promise<void> {
    const recorded = new Promise<void>((done, failed) => this.marks.push({ ...mark, done, failed }));
    // Its failure is the marks' own (each delivery logs it).
    if (this.stopping) this.withMarks((marks) => markDelivered(this.pool, this.workerId, marks)).catch(() => undefined);
    else this.kick();
    return recorded;
  }

  /** Runs `write` with the marks waiting (taken from the list), which settle as it does. */
  private async withMarks<T>(write: (marks: DeliveredMark[]) => Promise<T>): Promise<T> {
    const marks = this.marks;
    this.marks = [];
    try {
      const out = await write(marks.map(({ taskId, attempt }) => ({ taskId, attempt })));
      for (const m of marks) m.done();
      return out;
    } catch (err) {
      for (const m of marks) m.failed(err);
      throw err;
    }
  }

  /** Waits until no delivery is in flight here (tests). */
  async idle(): Promise<void> {
    await this.loop.idle();
  }

  private async deliver({ task, previous, authProjectId, choice, started }: Claimed, controller: AbortController): Promise<void> {
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
    if (!choice) {
      const why = used === 0 ? "" : ` after ${used} attempt(s) (last: ${lastError})`;
      await exhaustTask(this.pool, task.id, this.workerId, `no healthy agent offers capability "${task.capability}"${why}`);
      return;
    }
    // Read per task from the registry at each delivery (by the claim): never a global project.
    if (authProjectId === undefined) {
      await exhaustTask(this.pool, task.id, this.workerId, `repository ${task.owner}/${task.repo} is no longer registered`);
      return;
    }
    const attempt = started ?? (await startAttempt(this.pool, task.id, this.workerId, choice.agent.id));
    if (attempt === undefined || attempt === "lost") return; // another dispatcher took it over

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
    const stopRenewing = keepLease({
      leaseMs: this.leaseMs,
      controller,
      lost: "another dispatcher took the task over",
      failed: (err) => this.log.child({ taskId: task.id }).warn(`heartbeat failed: ${err.message}`),
      renew: () => renewTaskLease(this.pool, task.id, this.workerId, this.leaseMs),
    });
    let failure: { outcome: "http_error" | "timeout"; error: string } | undefined;
    try {
      const status = await postJson(choice.agent.endpoint, body, { signal: controller.signal, timeoutMs: task.timeoutMs });
      if (status < 200 || status > 299) failure = { outcome: "http_error", error: `agent ${choice.agent.name} answered HTTP ${status}` };
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof LeaseLost) return;
      if (reason instanceof ShuttingDown) {
        await failAttempt(this.pool, {
          taskId: task.id,
          owner: this.workerId,
          attempt,
          outcome: "interrupted",
          error: "the dispatcher stopped during the delivery",
          retryInMs: 0,
        });
        return;
      }
      const name = (err as Error)?.name;
      failure =
        name === "TimeoutError"
          ? { outcome: "timeout", error: `agent ${choice.agent.name} did not answer within ${task.timeoutMs} ms` }
          : { outcome: "http_error", error: `agent ${choice.agent.name} unreachable: ${(err as Error)?.message ?? String(err)}` };
    } finally {
      stopRenewing();
    }
    if (!failure) {
      // The agent has it: its slot goes to the next claim now, while the delivered-mark (still under our lease, which
      // only it releases, so no other dispatcher can claim the task meanwhile) is recorded.
      this.marking++;
      this.kick();
      try {
        await this.markDelivered({ taskId: task.id, attempt });
      } finally {
        this.marking--;
      }
      return;
    }
    // The last attempt failed: no wait, the next claim ends the task with the reason.
    const inBudget = attempt - task.budgetStart;
    const delay = inBudget >= task.maxAttempts ? 0 : fullJitterDelay(inBudget, this.retryBaseMs, this.retryMaxMs, this.random);
    await failAttempt(this.pool, {
      taskId: task.id,
      owner: this.workerId,
      attempt,
      outcome: failure.outcome,
      error: failure.error,
      retryInMs: delay,
    });
    this.log.child({ taskId: task.id }).warn(`attempt ${attempt} failed (${failure.error}); next in ${delay} ms`);
    if (delay <= this.pollMs) setTimeout(() => this.kick(), delay).unref();
  }
}
