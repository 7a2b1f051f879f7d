import type { StackRunner } from "../pulumi/runner";
import { type EmitRunEvent, type RunEvent, type RunOutput, type RunRecord, type RunResult, RunStepError } from "../domain/runs";

/**
 * A StackRunner for server tests: it plays a script instead of running Pulumi (the real runner is the
 * integration tier's). A script lists the steps to report, events to emit, the step to fail at, a gate to
 * block on until the test releases it, and the result to return. It records what it was asked to do and
 * how many runs overlapped, overall and per stack.
 */
export interface Script {
  /** Steps reported in order (default: select-stack, then the operation: up/preview/refresh/destroy). */
  steps?: string[];
  /** Emitted after the steps, or at the failing step before it fails. */
  events?: RunEvent[];
  failAt?: { step: string; message: string };
  /** Blocks after the steps and events until released; an abort ends the wait with an error. */
  gate?: Gate;
  outputs?: Record<string, RunOutput>;
  changeSummary?: Record<string, number>;
}

export class Gate {
  private opened = false;
  private release_!: () => void;
  readonly released = new Promise<void>((resolve) => (this.release_ = resolve));
  private readonly waiting: RunRecord[] = [];
  private readonly arrivals: (() => void)[] = [];

  release(): void {
    this.opened = true;
    this.release_();
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Resolves once `n` runs have reached the gate. */
  reached(n = 1): Promise<RunRecord[]> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.waiting.length >= n) {
          resolve(this.waiting.slice(0, n));
          return true;
        }
        return false;
      };
      if (!check()) this.arrivals.push(() => void check());
    });
  }

  async pass(run: RunRecord, signal: AbortSignal): Promise<void> {
    this.waiting.push(run);
    for (const notify of this.arrivals) notify();
    if (this.opened) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason ?? new Error("aborted"));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      void this.released.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }
}

export interface RunnerCall {
  runId: string;
  kind: string;
  stackName: string;
  request: RunRecord["request"];
  startedAt: number;
  endedAt?: number;
  outcome?: "ok" | "failed" | "aborted";
}

const OPERATION_STEP = {
  onboard: "up",
  update: "up",
  preview: "preview",
  refresh: "refresh",
  destroy: "destroy",
  "drift-check": "detect-drift",
} as const;

export class ScriptedRunner implements StackRunner {
  readonly calls: RunnerCall[] = [];
  readonly recoveries: RunRecord[] = [];
  /** When set, recover() fails at its refresh step with this message. */
  recoverFailure?: string;
  /** When set, recover() waits here after clearing the lock. */
  recoverGate?: Gate;
  maxConcurrent = 0;
  /** Highest number of overlapping runs seen on any one stack (must stay 1). */
  maxConcurrentPerStack = 0;
  private readonly scripts: { match: (run: RunRecord) => boolean; script: Script; once: boolean }[] = [];
  private readonly runningByStack = new Map<string, number>();
  private running = 0;

  /** Plays `script` for runs of this stack (or matching this predicate); `once` lets the next script take over. */
  on(match: string | ((run: RunRecord) => boolean), script: Script, opts: { once?: boolean } = {}): this {
    const predicate = typeof match === "string" ? (run: RunRecord) => run.stackName === match : match;
    this.scripts.push({ match: predicate, script, once: opts.once ?? false });
    return this;
  }

  async run(run: RunRecord, signal: AbortSignal, emit: EmitRunEvent): Promise<RunResult> {
    const index = this.scripts.findIndex((s) => s.match(run));
    const script = index >= 0 ? this.scripts[index].script : {};
    if (index >= 0 && this.scripts[index].once) this.scripts.splice(index, 1);
    const call: RunnerCall = { runId: run.id, kind: run.kind, stackName: run.stackName, request: run.request, startedAt: Date.now() };
    this.calls.push(call);
    this.enter(run.stackName);
    try {
      for (const step of script.steps ?? ["select-stack", OPERATION_STEP[run.kind]]) {
        await emit({ type: "step", step });
        if (script.failAt?.step === step) {
          // As the engine does: what it reported (diagnostics, policy violations) arrives before the failure.
          for (const event of script.events ?? []) await emit(event);
          throw new RunStepError(step, script.failAt.message);
        }
        await new Promise((resolve) => setImmediate(resolve));
        signal.throwIfAborted();
      }
      for (const event of script.events ?? []) await emit(event);
      if (script.gate) await script.gate.pass(run, signal);
      signal.throwIfAborted();
      call.outcome = "ok";
      return { changeSummary: script.changeSummary ?? { same: 1 }, outputs: script.outputs ?? {} };
    } catch (err) {
      call.outcome = signal.aborted ? "aborted" : "failed";
      throw err;
    } finally {
      call.endedAt = Date.now();
      this.leave(run.stackName);
    }
  }

  async recover(run: RunRecord, signal: AbortSignal, emit: EmitRunEvent): Promise<void> {
    this.recoveries.push(run);
    await emit({ type: "step", step: "clear-lock" });
    if (this.recoverGate) await this.recoverGate.pass(run, signal);
    await emit({ type: "step", step: "refresh" });
    if (this.recoverFailure) throw new RunStepError("refresh", this.recoverFailure);
  }

  private enter(stack: string): void {
    this.running += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    const n = (this.runningByStack.get(stack) ?? 0) + 1;
    this.runningByStack.set(stack, n);
    this.maxConcurrentPerStack = Math.max(this.maxConcurrentPerStack, n);
  }

  private leave(stack: string): void {
    this.running -= 1;
    this.runningByStack.set(stack, (this.runningByStack.get(stack) ?? 1) - 1);
  }
}
