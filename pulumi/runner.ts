import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation";
import { cleanMessage, summariseEngineEvent } from "./engine-events";
import { removeTruncatedSidecars } from "./file-backend-repair";
import { RunEventSender } from "./run-event-sender";
import { defaultLogger, type Logger } from "../lib/logger";
import { liteLLMSkipReason } from "../domain/litellm";
import { agentSettingsSkipReason } from "../domain/agent-settings";
import { type EmitRunEvent, type RunEvent, type RunRecord, type RunResult, RunStepError } from "../domain/runs";
import type { RepoStackInput } from "../domain/repo-config";
import { KnownAnswers } from "./known-answers";
import type { CommandSignals } from "./pulumi-command";
import { POLICY_PACK_DIR, removeStack, selectRepoStack, selectStack, type WorkspaceSettings, workspaceSettings } from "./workspace";

/**
 * Executes runs. The queue owns ordering, leases and recording; a runner only performs the stack operation
 * and reports what happens through `emit`. Failures are RunStepErrors naming the step.
 */
export interface StackRunner {
  /**
   * `signal` asks the run to stop (the CLI gets SIGINT and stops gracefully); `kill`, for a worker out of time,
   * stops it at once (its processes are killed, the stack is left as after a crash, for the recovery).
   */
  run(run: RunRecord, signal: AbortSignal, emit: EmitRunEvent, kill?: AbortSignal): Promise<RunResult>;
  /**
   * Brings a stack whose run was interrupted (its worker died) back to a usable state: clears the stale
   * update lock, then refreshes the state from the real resources.
   */
  recover(run: RunRecord, signal: AbortSignal, emit: EmitRunEvent, kill?: AbortSignal): Promise<void>;
}

export interface PulumiStackRunnerOptions {
  settings?: WorkspaceSettings;
  /**
   * After an abort the CLI gets SIGINT and finishes in-flight resource operations; if it has not stopped
   * within this time it is killed and the stack's lock cleared (a last resort: the state may hold pending
   * operations, which the next update's refresh settles).
   */
  cancelGraceMs?: number;
  /** Where what happens to a run outside its events goes (each line carries the run id). */
  log?: Logger;
}

const REASON_MAX = 2000;

/** The real runner: Pulumi's Automation API on the project's one program and its workspace settings. */
export class PulumiStackRunner implements StackRunner {
  private readonly settings: WorkspaceSettings;
  private readonly cancelGraceMs: number;
  private readonly log: Logger;

  constructor(options: PulumiStackRunnerOptions = {}) {
    this.settings = options.settings ?? workspaceSettings();
    this.cancelGraceMs = options.cancelGraceMs ?? 10_000;
    this.log = options.log ?? defaultLogger();
  }

  async run(run: RunRecord, signal: AbortSignal, emit: EmitRunEvent, kill?: AbortSignal): Promise<RunResult> {
    const op = new Operation(emit, signal, this.log.child({ runId: run.id }));
    const backstop = this.cancelBackstop(signal, op, kill);
    try {
      await op.step("select-stack");
      // What the run's own events already say (the stack's outputs, its summary) is not asked of the CLI again.
      const answers = new KnownAnswers();
      const stack = await this.stackFor(run, backstop.signals, answers);
      signal.throwIfAborted();
      const onEvent = (event: EngineEvent) => {
        answers.observe(event);
        op.onEvent(event);
      };
      const common = { onEvent, onOutput: op.onOutput, signal };
      // Refresh and destroy take no policy packs: they change the state to match the world, not the world.
      const guarded = { ...common, policyPacks: [POLICY_PACK_DIR] };
      try {
        switch (run.kind) {
          case "onboard":
          case "update": {
            const liteLLMSkipped = liteLLMSkipReason(run.request, process.env);
            if (liteLLMSkipped) await op.skipped("litellm", liteLLMSkipped);
            const settingsSkipped = agentSettingsSkipReason(run.request, process.env);
            if (settingsSkipped) await op.skipped("agent-settings", settingsSkipped);
            await op.step("up");
            // The world as it is, not as the state last saw it: what was deleted or edited by hand is put back.
            const up = await stack.up({ ...guarded, refresh: true });
            return { changeSummary: counts(up.summary.resourceChanges), outputs: up.outputs };
          }
          case "preview": {
            await op.step("preview");
            const preview = await stack.preview(guarded);
            return { changeSummary: counts(preview.changeSummary), outputs: {} };
          }
          case "refresh": {
            await op.step("refresh");
            const refresh = await stack.refresh(common);
            await op.step("read-outputs");
            return { changeSummary: counts(refresh.summary.resourceChanges), outputs: await stack.outputs() };
          }
          case "drift-check": {
            // What a refresh would change, without changing the state: the world's drift from it.
            await op.step("detect-drift");
            const drift = await stack.previewRefresh(common);
            return { changeSummary: counts(drift.changeSummary), outputs: {} };
          }
          case "destroy": {
            await op.step("destroy");
            const destroy = await stack.destroy(common);
            // Only once every resource is confirmed gone does the stack (and its config) go.
            await op.step("remove-stack");
            await removeStack(stack, this.settings);
            return { changeSummary: counts(destroy.summary.resourceChanges), outputs: {} };
          }
        }
      } catch (err) {
        if (backstop.fired()) await this.clearLock(run.stackName, op);
        throw err;
      }
    } catch (err) {
      throw op.failure(err);
    } finally {
      backstop.done();
      await op.flush();
    }
  }

  async recover(run: RunRecord, signal: AbortSignal, emit: EmitRunEvent, kill?: AbortSignal): Promise<void> {
    const op = new Operation(emit, signal, this.log.child({ runId: run.id }));
    const backstop = this.cancelBackstop(signal, op, kill);
    try {
      await op.step("clear-lock");
      for (const file of await removeTruncatedSidecars(this.settings.backendUrl, run.stackName)) {
        await op.log(`removed ${file}, left empty by the interrupted run (the state file backend rewrites it in place)`);
      }
      const stack = await selectStack(run.stackName, this.settings, backstop.signals);
      try {
        await stack.cancel();
        await op.log("cancelled the update left behind by the interrupted run");
      } catch (err) {
        // Nothing to cancel is the common case (the worker died between updates).
        await op.log(`no update to cancel: ${firstLine((err as Error).message)}`);
      }
      signal.throwIfAborted();
      await op.step("refresh");
      // Creates the dead run had in flight stay in the state as pending operations, whether or not the object
      // came to exist. They are dropped here and the re-queued run creates them again: every provider of these
      // stacks takes an existing object over (Kubernetes server-side apply upserts, the webhook is found by its
      // URL, the Vault write and the registry row are upserts, the board is found by its title).
      await stack.refresh({ onEvent: op.onEvent, onOutput: op.onOutput, signal, clearPendingCreates: true });
    } catch (err) {
      throw op.failure(err);
    } finally {
      backstop.done();
      await op.flush();
    }
  }

  private async stackFor(run: RunRecord, signals: CommandSignals, answers: KnownAnswers): Promise<Stack> {
    // Refresh, drift checks and destroy act on the stack as it is; only up and preview write the request's config.
    if (run.kind === "refresh" || run.kind === "drift-check" || run.kind === "destroy")
      return selectStack(run.stackName, this.settings, signals, answers);
    // Validated as it is written: a request without a serverUrl is refused there, naming mesh-six:serverUrl.
    const stack = await selectRepoStack(run.request as RepoStackInput, this.settings, signals, answers);
    if (stack.name !== run.stackName) throw new Error(`request names stack ${stack.name}, run is for ${run.stackName}`);
    return stack;
  }

  /**
   * The signals of a run's commands: SIGINT on `signal`; SIGKILL on `kill`, or `cancelGraceMs` after `signal`
   * when the CLI did not stop on SIGINT (then `fired()`).
   */
  private cancelBackstop(
    signal: AbortSignal,
    op: Operation,
    kill?: AbortSignal,
  ): { signals: CommandSignals; fired(): boolean; done(): void } {
    const own = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => {
        void op.log(`the CLI did not stop within ${Math.round(this.cancelGraceMs / 1000)}s of SIGINT; killing it`);
        own.abort(new Error("the CLI did not stop after SIGINT"));
      }, this.cancelGraceMs);
      timer.unref();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    return {
      signals: { stop: signal, kill: kill ? AbortSignal.any([kill, own.signal]) : own.signal },
      fired: () => own.signal.aborted && !kill?.aborted,
      done: () => {
        signal.removeEventListener("abort", onAbort);
        if (timer) clearTimeout(timer);
      },
    };
  }

  /** After the CLI was killed: the lock it left would refuse the stack's next run. Bounded: the stack may be gone too. */
  private async clearLock(stackName: string, op: Operation): Promise<void> {
    try {
      const stack = await selectStack(stackName, this.settings, { kill: AbortSignal.timeout(CLEAR_LOCK_MS) });
      await stack.cancel();
      await op.log("cleared the lock the killed CLI left");
    } catch (err) {
      await op.log(`no lock cleared: ${firstLine((err as Error).message)}`);
    }
  }
}

const CLEAR_LOCK_MS = 15_000;

/** One operation's bookkeeping: the current step, ordered event delivery, error diagnostics for the reason. */
class Operation {
  private current = "start";
  private readonly sender: RunEventSender;
  private readonly errors: string[] = [];
  private readonly tail: string[] = [];

  constructor(emit: EmitRunEvent, signal: AbortSignal, log: Logger) {
    this.sender = new RunEventSender(emit, { signal, log });
  }

  step(step: string): Promise<void> {
    this.current = step;
    return this.send({ type: "step", step });
  }

  /** A step the run leaves out; the current step (named by a failure) stays what it was. */
  skipped(step: string, reason: string): Promise<void> {
    return this.send({ type: "step", step, skipped: reason });
  }

  log(message: string): Promise<void> {
    return this.send({ type: "log", message });
  }

  // The Automation API calls these synchronously; events are queued so they are recorded in order.
  readonly onEvent = (event: EngineEvent): void => {
    const summary = summariseEngineEvent(event);
    if (!summary) return;
    if (summary.type === "diagnostic" && summary.severity === "error") this.errors.push(summary.message);
    void this.send(summary);
  };

  readonly onOutput = (text: string): void => {
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
    }
  };

  private send(event: RunEvent): Promise<void> {
    return this.sender.send(event);
  }

  flush(): Promise<void> {
    return this.sender.flush();
  }

  failure(err: unknown): RunStepError {
    if (err instanceof RunStepError) return err;
    return new RunStepError(this.current, this.reason(err));
  }

  private reason(err: unknown): string {
    if (err instanceof ConcurrentUpdateError) return "the stack is locked by another update";
    if ((err as Error)?.name === "AbortError") return "aborted";
    const said = this.errors.length > 0 ? this.errors.join("\n") : lastLines(err, this.tail);
    const text = cleanMessage(said);
    return text.length > REASON_MAX ? `${text.slice(0, REASON_MAX)}…` : text;
  }
}

function lastLines(err: unknown, tail: string[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = (text: string) =>
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  // A CommandError's message is the whole command result: "code: … stdout: … stderr: … err?: …".
  const parts = /\n stderr: ([\s\S]*?)\n err\?: ([\s\S]*)$/.exec(message);
  if (parts) {
    const stderr = lines(parts[1]);
    const marked = stderr.filter((l) => /^error:/i.test(l));
    if (marked.length > 0) return marked.slice(-5).join("\n");
    if (stderr.length > 0) return stderr.slice(-5).join("\n");
    if (tail.length > 0) return tail.slice(-5).join("\n");
    return lines(parts[2])[0] ?? message;
  }
  return lines(message).slice(-5).join("\n") || (tail.length > 0 ? tail.slice(-5).join("\n") : "failed");
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .find((l) => l.trim())
      ?.trim() ?? ""
  );
}

function counts(map: Record<string, number | undefined> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(map ?? {}).filter((e): e is [string, number] => typeof e[1] === "number"));
}
