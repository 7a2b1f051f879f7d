import type { EngineEvent } from "@pulumi/pulumi/automation";

/**
 * Answers to CLI commands that a run already knows, so that the Automation API's command is answered here and no CLI
 * is launched for it (each launch costs a Go process start and a read of the backend: a few hundred milliseconds).
 * The Automation API asks three such questions: `stack select` of a stack known to exist (its checkpoint is in the
 * backend), and after each operation `stack output` (twice) and `stack history --page-size 1`, whose answers are the
 * operation's own engine events (the stack resource's outputs, the summary's resource changes).
 *
 * The outputs are as the engine's events give them: a secret output's value is `[secret]` (never its plaintext; the
 * run records outputs with secrets redacted anyway). Anything not known is left to the CLI: an operation that sent no
 * stack outputs or no summary has its outputs or history read by the CLI as before.
 */
export class KnownAnswers {
  private readonly existing = new Set<string>();
  private operation?: { kind: string; stack?: string; startTime: string };
  private outputs?: Record<string, unknown>;
  private resourceChanges?: Record<string, number>;

  /** The stack `name` exists in the backend: `stack select` of it needs no CLI. */
  stackExists(name: string): void {
    this.existing.add(name);
  }

  /** Every engine event of an operation run with these answers (the runner's onEvent passes each one). */
  readonly observe = (event: EngineEvent): void => {
    const outputs = event.resOutputsEvent?.metadata;
    if (outputs?.type === STACK_TYPE && outputs.new?.outputs) this.outputs = { ...outputs.new.outputs };
    if (event.summaryEvent) this.resourceChanges = { ...(event.summaryEvent.resourceChanges as Record<string, number>) };
  };

  /** The standard output of `pulumi <args>` when it is known (nothing is launched then); undefined when it is not. */
  answer(args: readonly string[]): string | undefined {
    const first = args.findIndex((a) => a.startsWith("-"));
    const words = (first < 0 ? args : args.slice(0, first)).join(" ");
    const flag = args.indexOf("--stack");
    const stack = flag >= 0 ? args[flag + 1] : undefined;
    const kind = OPERATIONS.get(words);
    if (kind) {
      // A new operation: what the last one said answers nothing about this one.
      this.operation = { kind, stack, startTime: new Date().toISOString() };
      this.outputs = undefined;
      this.resourceChanges = undefined;
      return undefined;
    }
    if (words === "stack select" && stack !== undefined && this.existing.has(stack)) return "";
    const sameStack = this.operation !== undefined && this.operation.stack === stack;
    if (words === "stack output" && sameStack && this.outputs) return JSON.stringify(this.outputs);
    if (words === "stack history" && sameStack && this.resourceChanges && args.includes("--page-size")) {
      const summary = {
        kind: this.operation!.kind,
        startTime: this.operation!.startTime,
        endTime: new Date().toISOString(),
        message: "",
        environment: {},
        config: {},
        // The Automation API asks for the history only after the operation succeeded.
        result: "succeeded",
        resourceChanges: this.resourceChanges,
      };
      return JSON.stringify([summary]);
    }
    return undefined;
  }
}

const STACK_TYPE = "pulumi:pulumi:Stack";
/** The CLI's operations, by their first words, as the kind of update they record. */
const OPERATIONS = new Map([
  ["up", "update"],
  ["refresh", "refresh"],
  ["destroy", "destroy"],
  ["preview", "preview"],
]);
