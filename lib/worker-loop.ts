import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { LeaseLost } from "./abort";
import { PollPause } from "./poll-pause";
import type { Logger } from "./logger";

/** A worker's name in lease columns and logs: host, process and a random part, so two workers in one process differ. */
export function newWorkerId(suffix = ""): string {
  return `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}${suffix}`;
}

/** Resolves when `work` settles or at `deadline`, whichever is first; never rejects. */
export async function until(work: Promise<unknown> | undefined, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
  await Promise.race([
    work?.then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]);
  clearTimeout(timer);
}

export interface LeaseKeeping {
  leaseMs: number;
  /** One renewal; resolves false when the lease is no longer ours. */
  renew: () => Promise<boolean>;
  /** Aborted with LeaseLost(`lost`) when a renewal says the lease is gone. */
  controller: AbortController;
  lost: string;
  /** A renewal that failed (the database is away): the lease may still be ours, the next renewal tells. */
  failed: (err: Error) => void;
}

/**
 * Renews a held lease three times per lease until the returned function is called. A renewal still under way when
 * the next is due is not doubled: a slow database gets one query at a time.
 */
export function keepLease(k: LeaseKeeping): () => void {
  let renewing = false;
  const timer = setInterval(
    () => {
      if (renewing) return;
      renewing = true;
      k.renew()
        .then((held) => {
          if (!held) k.controller.abort(new LeaseLost(k.lost));
        })
        .catch((err: Error) => k.failed(err))
        .finally(() => (renewing = false));
    },
    Math.max(10, Math.floor(k.leaseMs / 3)),
  );
  return () => clearInterval(timer);
}

export interface WorkerLoopOptions<J> {
  /** Most jobs in flight here at once (a claim may cap them further over all workers). */
  concurrency: number;
  /** How long an idle loop waits between claims when nothing kicks it. */
  pollMs: number;
  /** Takes one job under this worker's lease, or undefined when none is due. */
  claim?: () => Promise<J | undefined>;
  /** Instead of `claim`: takes up to `max` due jobs in one go (one round trip fills every free slot). */
  claimMany?: (max: number) => Promise<J[]>;
  key: (job: J) => string;
  /** Does the job and records its outcome; `controller` is what stop() aborts. Should not reject (logged if it does). */
  work: (job: J, controller: AbortController) => Promise<void>;
  /** Done at the start of every pass, before claiming (a periodic recovery). */
  eachPass?: () => Promise<void>;
  /** How many jobs in flight hold no slot now (they wait on someone else and must not keep others from starting). */
  resting?: () => number;
  /** Names the loop in its log lines. */
  name: string;
  log: Logger;
}

export interface StopPlan {
  /** When stop() returns at the latest. */
  deadline: number;
  /** Until then jobs in flight may finish on their own; then their controllers are aborted with `reason`. */
  abortAt: number;
  reason: Error;
}

/**
 * A worker's loop over a database queue: it claims jobs while slots are free, runs each with an AbortController of
 * its own, polls when idle and wakes at once on kick(), and stops within a deadline. What a job is, how it is
 * claimed, done and recorded stays with the owner (the run queue, the dispatcher).
 */
export class WorkerLoop<J> {
  private readonly inFlight = new Map<string, { done: Promise<void>; controller: AbortController }>();
  private readonly pause = new PollPause();
  private pass?: Promise<void>;
  private stopRequested = false;

  constructor(private readonly opts: WorkerLoopOptions<J>) {}

  /** Whether stop() was called since the last start(). */
  get stopping(): boolean {
    return this.stopRequested;
  }

  get running(): boolean {
    return this.pass !== undefined;
  }

  /** Starts claiming once `prepare` (e.g. a recovery before the first claim) is done; a second call does nothing. */
  async start(prepare?: () => Promise<void>): Promise<void> {
    if (this.pass) return;
    this.stopRequested = false;
    await prepare?.();
    this.pass = this.loop();
  }

  /** Looks for work now rather than at the next poll. */
  kick(): void {
    this.pause.kick();
  }

  /** Keys of the jobs in flight here. */
  keys(): string[] {
    return [...this.inFlight.keys()];
  }

  /** Waits until every job in flight settled or `deadline` passed; returns the keys of those still in flight. */
  async settled(deadline: number): Promise<string[]> {
    await until(Promise.all([...this.inFlight.values()].map((j) => j.done)), deadline);
    return this.keys();
  }

  /** Waits until nothing is in flight here, however long that takes (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()].map((j) => j.done));
  }

  /**
   * Stops claiming, lets jobs in flight finish until `abortAt`, aborts what is left and waits for it until `deadline`.
   * Returns the keys of the jobs still in flight then: the owner hands them back (their lease would lapse anyway).
   */
  async stop(plan: StopPlan): Promise<string[]> {
    this.stopRequested = true;
    this.kick();
    await until(this.pass, plan.deadline);
    this.pass = undefined;
    await this.settled(plan.abortAt);
    for (const { controller } of this.inFlight.values()) controller.abort(plan.reason);
    return this.settled(plan.deadline);
  }

  private async loop(): Promise<void> {
    while (!this.stopRequested) {
      try {
        await this.opts.eachPass?.();
        await this.fill();
      } catch (err) {
        this.opts.log.error(`${this.opts.name}: ${(err as Error).message}`);
      }
      await this.pause.wait(this.opts.pollMs, this.stopRequested);
    }
  }

  private async fill(): Promise<void> {
    for (let free = this.free(); !this.stopRequested && free > 0; free = this.free()) {
      const asked = this.opts.claimMany ? free : 1;
      const jobs = await this.claimUpTo(asked);
      for (const job of jobs) this.launch(job);
      // Fewer than asked: nothing more is due now.
      if (jobs.length < asked) return;
    }
  }

  private free(): number {
    return this.opts.concurrency - (this.inFlight.size - (this.opts.resting?.() ?? 0));
  }

  private async claimUpTo(max: number): Promise<J[]> {
    if (this.opts.claimMany) return this.opts.claimMany(max);
    const job = await this.opts.claim!();
    return job === undefined ? [] : [job];
  }

  private launch(job: J): void {
    const key = this.opts.key(job);
    const controller = new AbortController();
    const done = this.opts
      .work(job, controller)
      .catch((err: Error) => this.opts.log.error(`${this.opts.name}: ${key}: ${err.message}`))
      .finally(() => {
        this.inFlight.delete(key);
        this.kick();
      });
    this.inFlight.set(key, { done, controller });
  }
}
