import type { Pool } from "pg";
import { RunEventBus } from "./event-bus";
import {
  appendRunEvent,
  type CancelResult,
  claimNextRun,
  finishRun,
  type RecoveryOutcome,
  releaseLease,
  renewLease,
  requestCancel,
  recordFingerprint,
  type RunOutcome,
  settleRecovery,
  startWaitingForAuth,
  stopWaitingForAuth,
  takeOverLapsedRuns,
} from "./run-store";
import { hasPostUpSteps, type PostUpConfig, runPostUpSteps } from "./post-up";
import { type RepoValidator, VALIDATE_STEP, validatesFirst } from "./validate";
import { decideUpToDate, stateAfter, type UpToDateOptions } from "./up-to-date";
import { hashOf } from "../domain/fingerprint";
import type { StackRunner } from "../pulumi/runner";
import { type EmitRunEvent, redactOutputs, type RunRecord, RunStepError } from "../domain/runs";
import { LeaseLost, ShuttingDown } from "../lib/abort";
import { keepLease, newWorkerId, until, WorkerLoop } from "../lib/worker-loop";
import { defaultLogger, type Logger } from "../lib/logger";

export interface RunQueueOptions {
  pool: Pool;
  runner: StackRunner;
  /** Most runs executing at once over all workers on the database (MESH_SIX_RUN_CONCURRENCY). */
  concurrency?: number;
  /** How long a run stays ours without a heartbeat; heartbeats come three times per lease. */
  leaseMs?: number;
  /** How often an idle worker looks for queued runs that another process stored. */
  pollMs?: number;
  /** How long stop() may take in all: running runs may finish, then are aborted, then killed (they are then recovered at once). */
  shutdownGraceMs?: number;
  workerId?: string;
  bus?: RunEventBus;
  /** The pod-health and auth steps after an onboard's or update's `up`; without it a run ends at `up`. */
  postUp?: PostUpConfig;
  /** The `validate` step before an onboard's or update's stack is touched; without it a run starts at `select-stack`. */
  validate?: RepoValidator;
  /**
   * Onboards and updates identical to the stack's last successful one are answered up-to-date without the runner
   * (runs/up-to-date.ts); without it every one runs.
   */
  upToDate?: UpToDateOptions;
  /** Called once per run that reached a terminal status here (metrics). */
  onFinished?: (run: RunRecord) => void;
  log?: Logger;
}

/** How long stop() may take unless told (MESH_SIX_RUN_SHUTDOWN_GRACE_MS's default, as the README documents it). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

/** Of a shutdown's grace, at most this much is kept for aborted runs to stop gracefully. */
const STOP_WINDOW_MS = 10_000;
/** After killing what outlived the grace, how long its runs get to hand themselves back. */
const KILL_SETTLE_MS = 1_000;

// Why a run's AbortSignal fired; the reason decides what is recorded.
class CancelRequested extends Error {
  override readonly name = "CancelRequested";
}

/**
 * The run queue: a worker loop that claims queued runs from Postgres (FIFO per stack, at most
 * `concurrency` running over all workers), executes each under a lease it renews, and records the outcome.
 * Runs whose lease lapsed (a worker died) are taken over, their stack is cleaned up through the runner, and
 * they are re-queued once or failed.
 */
export class RunQueue {
  readonly bus: RunEventBus;
  readonly workerId: string;
  private readonly pool: Pool;
  private readonly runner: StackRunner;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly shutdownGraceMs: number;
  private readonly onFinished: (run: RunRecord) => void;
  private readonly log: Logger;
  /** Claims and executes runs; those in flight there count against the concurrency cap until recorded. */
  private readonly loop: WorkerLoop<RunRecord>;
  private lastRecovery = 0;
  /** Every run this worker supervises, executing (the loop's controllers) or recovering: what cancel aborts. */
  private readonly controllers = new Map<string, AbortController>();
  /** Per supervised run: fired when a shutdown ran out of grace; its CLI processes are killed. */
  private readonly kills = new Map<string, AbortController>();
  private readonly recovering = new Set<AbortController>();
  /** Runs waiting for the user's device approval: they hold their stack but not a concurrency slot. */
  private readonly waitingForAuth = new Set<string>();
  /** Per waiting run: fired when credentials were pushed through the API (here or on another replica). */
  private readonly authPushes = new Map<string, AbortController>();
  private readonly postUp?: PostUpConfig;
  private readonly validate?: RepoValidator;
  private readonly upToDate?: UpToDateOptions;

  constructor(opts: RunQueueOptions) {
    this.pool = opts.pool;
    this.runner = opts.runner;
    this.concurrency = opts.concurrency ?? 2;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    this.workerId = opts.workerId ?? newWorkerId();
    this.bus = opts.bus ?? new RunEventBus();
    this.postUp = opts.postUp;
    this.validate = opts.validate;
    this.upToDate = opts.upToDate;
    this.onFinished = opts.onFinished ?? (() => undefined);
    this.log = opts.log ?? defaultLogger().child({ component: "queue" });
    this.loop = new WorkerLoop<RunRecord>({
      concurrency: this.concurrency,
      pollMs: opts.pollMs ?? 1_000,
      claim: () => this.claim(),
      key: (run) => run.id,
      work: (run, controller) =>
        this.execute(run, controller).catch((err: Error) => this.log.child({ runId: run.id }).error(`recording failed: ${err.message}`)),
      eachPass: () => this.recoverNowAndThen(),
      resting: () => this.waitingForAuth.size,
      name: "worker loop",
      log: this.log,
    });
  }

  /** Recovers runs interrupted by a previous crash, then starts claiming. */
  async start(): Promise<void> {
    await this.loop.start(async () => {
      await this.recoverInterruptedRuns();
      this.lastRecovery = Date.now();
    });
  }

  /** Looks for work now rather than at the next poll (a run was stored or finished). */
  kick(): void {
    this.loop.kick();
  }

  /**
   * Stops claiming and hands every run back within `shutdownGraceMs`, whatever step it is at: running runs may
   * finish during most of the grace, are then aborted (the CLI gets SIGINT: it finishes in-flight operations and
   * saves the state), and what is still running at the end of the grace is killed (the CLI's process group gets
   * SIGKILL) and its lease released, so that the next worker recovers it at once, as after a crash.
   */
  async stop(): Promise<void> {
    const deadline = Date.now() + this.shutdownGraceMs;
    const reason = new ShuttingDown("the worker is shutting down");
    const stopped = this.loop.stop({ deadline, abortAt: deadline - Math.min(this.shutdownGraceMs / 2, STOP_WINDOW_MS), reason });
    // A recovery is cheap to repeat: the next worker takes it over at once.
    for (const c of this.recovering) c.abort(reason);
    if ((await stopped).length === 0) return;
    for (const c of this.kills.values()) c.abort(new ShuttingDown("the worker ran out of shutdown grace"));
    // Killed, a run's CLI is gone at once; its recording (releasing the lease) takes a query.
    const abandoned = await this.loop.settled(Date.now() + KILL_SETTLE_MS);
    if (abandoned.length === 0) return;
    this.log.warn({ runIds: abandoned }, `runs still stopping after the shutdown grace, handed back to the queue: ${abandoned.join(", ")}`);
    await until(
      Promise.all(abandoned.map((id) => releaseLease(this.pool, id, this.workerId).catch(() => undefined))),
      Date.now() + KILL_SETTLE_MS,
    );
  }

  async cancel(runId: string): Promise<CancelResult> {
    const result = await requestCancel(this.pool, runId);
    if (result.outcome === "requested") {
      // Runs executing in another process see the request at their next heartbeat.
      this.controllers.get(runId)?.abort(new CancelRequested("cancelled by request"));
    }
    if (result.outcome !== "not_found") this.bus.notify(runId);
    if (result.outcome === "cancelled") this.onFinished(result.run);
    return result;
  }

  /** Credentials for a run waiting for auth arrived through the API (already marked in the database). */
  authReceived(runId: string): void {
    this.authPushes.get(runId)?.abort();
  }

  /**
   * Takes over runs whose lease lapsed, marks them `interrupted`, clears their stack's stale lock and
   * refreshes it (runner.recover), then re-queues each once, or fails it with the step it was at.
   */
  async recoverInterruptedRuns(): Promise<RunRecord[]> {
    const taken = await takeOverLapsedRuns(this.pool, this.workerId, this.leaseMs, [...this.controllers.keys()]);
    const settled: RunRecord[] = [];
    for (const run of taken) {
      this.bus.notify(run.id);
      const done = await this.recoverOne(run);
      if (done) settled.push(done);
    }
    return settled;
  }

  private async recoverOne(run: RunRecord): Promise<RunRecord | undefined> {
    const at = run.step ?? "start";
    const { error, abortedBy } = await this.supervise(run, undefined, (signal, emit, kill) => this.runner.recover(run, signal, emit, kill));
    if (abortedBy instanceof LeaseLost) return undefined;
    if (abortedBy instanceof ShuttingDown) {
      await releaseLease(this.pool, run.id, this.workerId);
      return undefined;
    }
    let outcome: RecoveryOutcome;
    if (run.cancelRequestedAt || abortedBy instanceof CancelRequested) {
      outcome = { status: "cancelled", failedStep: at, reason: `cancelled while recovering from an interruption at step ${at}` };
    } else if (error) {
      const detail = error instanceof RunStepError ? `${error.step}: ${error.reason}` : (error as Error).message;
      outcome = {
        status: "failed",
        failedStep: at,
        reason: `interrupted at step ${at} (its worker stopped); recovery failed at ${detail}`,
      };
    } else if (run.interruptions > 1) {
      outcome = { status: "failed", failedStep: at, reason: `interrupted again at step ${at} after being re-queued once; not retried` };
    } else {
      outcome = { status: "queued", reason: `re-queued after an interruption at step ${at} (stack lock cleared, state refreshed)` };
    }
    const settled = await settleRecovery(this.pool, run.id, this.workerId, outcome);
    this.bus.notify(run.id);
    if (settled && settled.status !== "queued") this.onFinished(settled);
    this.kick();
    return settled;
  }

  /** Once per lease, a pass of the loop first takes over the runs of workers that died meanwhile. */
  private async recoverNowAndThen(): Promise<void> {
    if (Date.now() - this.lastRecovery < this.leaseMs) return;
    this.lastRecovery = Date.now();
    await this.recoverInterruptedRuns();
  }

  private async claim(): Promise<RunRecord | undefined> {
    const run = await claimNextRun(this.pool, { leaseOwner: this.workerId, leaseMs: this.leaseMs, concurrency: this.concurrency });
    if (run) this.bus.notify(run.id);
    return run;
  }

  private async execute(run: RunRecord, controller: AbortController): Promise<void> {
    let step = run.step ?? "start";
    let result: Awaited<ReturnType<StackRunner["run"]>> | undefined;
    /** The earlier run this one is up to date with: it ends without the runner. */
    let upToDateWith: RunRecord | undefined;
    let fingerprinted = false;
    const { error, abortedBy } = await this.supervise(run, controller, async (signal, emit, kill) => {
      const tracked: EmitRunEvent = async (event) => {
        if (event.type === "step") step = event.step;
        await emit(event);
      };
      if (this.upToDate && validatesFirst(run)) {
        const judged = await this.judge(run, this.upToDate, tracked);
        fingerprinted = judged.fingerprinted;
        upToDateWith = judged.base;
        if (upToDateWith) return;
      }
      if (this.validate && validatesFirst(run)) {
        await tracked({ type: "step", step: VALIDATE_STEP });
        await this.validate(run, signal);
      }
      const done = await this.runner.run(run, signal, tracked, kill);
      if (this.postUp && hasPostUpSteps(run)) await this.afterUp(run, done, signal, tracked, this.postUp);
      result = done;
    });
    if (abortedBy instanceof LeaseLost) {
      this.log.child({ runId: run.id }).warn("lease lost to another worker; its outcome is theirs to record");
      return;
    }
    let outcome: RunOutcome;
    if (!error && upToDateWith) {
      // Nothing ran: the stack's outputs are those the earlier run recorded.
      outcome = { status: "succeeded", changeSummary: {}, outputs: upToDateWith.outputs ?? {}, upToDateWith: upToDateWith.id };
    } else if (!error && result) {
      // Even a run aborted too late to stop did change the stack: record what happened.
      outcome = { status: "succeeded", changeSummary: result.changeSummary, outputs: redactOutputs(result.outputs) };
      if (fingerprinted && this.upToDate) outcome.fingerprintAfter = await this.leftBehind(run, this.upToDate);
    } else if (abortedBy instanceof ShuttingDown) {
      await releaseLease(this.pool, run.id, this.workerId);
      return;
    } else if (abortedBy instanceof CancelRequested) {
      outcome = { status: "cancelled", failedStep: step, failureReason: `cancelled by request at step ${step}` };
    } else if (error instanceof RunStepError) {
      outcome = { status: "failed", failedStep: error.step, failureReason: error.reason };
    } else {
      outcome = {
        status: "failed",
        failedStep: step,
        failureReason: (error as Error | undefined)?.message ?? "the runner returned no result",
      };
    }
    const finished = await finishRun(this.pool, run.id, this.workerId, outcome);
    this.bus.notify(run.id);
    if (finished) this.onFinished(finished);
  }

  /**
   * Fingerprints an onboard or update, keeps the verdict on its row and says why it runs; an up-to-date one gets its
   * `up` step skipped, naming the run it repeats. A request that is no valid stack input is not judged: it fails
   * where it always did.
   */
  private async judge(run: RunRecord, opts: UpToDateOptions, emit: EmitRunEvent): Promise<{ fingerprinted: boolean; base?: RunRecord }> {
    let fingerprint;
    try {
      fingerprint = opts.fingerprinter.fingerprint(run, this.postUpComponents());
    } catch {
      return { fingerprinted: false };
    }
    const { record, base } = await decideUpToDate(this.pool, run, fingerprint, opts);
    await recordFingerprint(this.pool, run.id, this.workerId, record);
    const said = `fingerprint ${record.digest.slice(0, 12)}: ${record.reasons.join("; ")}`;
    if (base) await emit({ type: "step", step: "up", skipped: `up to date: ${said}` });
    // A first onboard has nothing to be compared with: its record says so, its events stay those of any onboard.
    else if (record.verdict !== "first") await emit({ type: "log", message: `not up to date (${record.verdict}): ${said}` });
    return { fingerprinted: true, base };
  }

  /** The steps after `up` depend on the server's auth settings too: a change there is a reason to run. */
  private postUpComponents(): Record<string, string> {
    const cfg = this.postUp;
    if (!cfg) return {};
    return { "post-up:auth": hashOf(JSON.stringify({ deviceFlow: cfg.deviceFlow ?? null, authServiceUrl: cfg.authServiceUrl ?? null })) };
  }

  /** The state and registry row an applied run left; unknown (the next update then runs) when they cannot be read. */
  private async leftBehind(run: RunRecord, opts: UpToDateOptions) {
    try {
      return await stateAfter(this.pool, run.stackName, opts.fingerprinter);
    } catch (err) {
      this.log.child({ runId: run.id }).warn(`reading the state the run left: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async afterUp(
    run: RunRecord,
    done: Awaited<ReturnType<StackRunner["run"]>>,
    signal: AbortSignal,
    emit: EmitRunEvent,
    cfg: PostUpConfig,
  ): Promise<void> {
    const pushed = new AbortController();
    this.authPushes.set(run.id, pushed);
    try {
      await runPostUpSteps(
        run,
        done.outputs,
        signal,
        {
          emit,
          pushed: pushed.signal,
          waitForAuth: async (prompt) => {
            if (!(await startWaitingForAuth(this.pool, run.id, this.workerId, prompt)))
              throw new Error("the run is no longer held by this worker");
            this.waitingForAuth.add(run.id);
            this.bus.notify(run.id);
            this.kick(); // its concurrency slot is free while the user takes their time
          },
          authDone: async () => {
            this.waitingForAuth.delete(run.id);
            await stopWaitingForAuth(this.pool, run.id, this.workerId);
            this.bus.notify(run.id);
          },
        },
        cfg,
      );
    } finally {
      this.waitingForAuth.delete(run.id);
      this.authPushes.delete(run.id);
    }
  }

  /**
   * Runs `work` for a run we hold: events are recorded under our lease, the lease is renewed, and a lost
   * lease or a cancel requested elsewhere aborts the work. A run the loop executes comes with the loop's
   * controller; a recovery (no controller given) gets its own. Resolves with the error (if any) and why the
   * signal fired (if it did).
   */
  private async supervise(
    run: RunRecord,
    executing: AbortController | undefined,
    work: (signal: AbortSignal, emit: EmitRunEvent, kill: AbortSignal) => Promise<void>,
  ): Promise<{ error?: unknown; abortedBy?: unknown }> {
    const controller = executing ?? new AbortController();
    const kill = new AbortController();
    this.controllers.set(run.id, controller);
    this.kills.set(run.id, kill);
    if (!executing) this.recovering.add(controller);
    if (!executing && this.loop.stopping) controller.abort(new ShuttingDown("the worker is shutting down"));
    const emit: EmitRunEvent = async (event) => {
      await appendRunEvent(this.pool, run.id, this.workerId, event);
      this.bus.notify(run.id);
    };
    const stopRenewing = keepLease({
      leaseMs: this.leaseMs,
      controller,
      lost: "another worker took the run over",
      failed: (err) => this.log.child({ runId: run.id }).warn(`heartbeat failed: ${err.message}`),
      renew: async () => {
        const { held, cancelRequested, authReceived } = await renewLease(this.pool, run.id, this.workerId, this.leaseMs);
        if (held && cancelRequested) controller.abort(new CancelRequested("cancelled by request"));
        else if (held && authReceived) this.authPushes.get(run.id)?.abort(); // pushed through another replica
        return held;
      },
    });
    try {
      await work(controller.signal, emit, kill.signal);
      return { abortedBy: controller.signal.aborted ? controller.signal.reason : undefined };
    } catch (error) {
      return { error, abortedBy: controller.signal.aborted ? controller.signal.reason : undefined };
    } finally {
      stopRenewing();
      this.controllers.delete(run.id);
      this.kills.delete(run.id);
      this.recovering.delete(controller);
    }
  }
}
