import type { FingerprintRecord } from "./fingerprint";
import type { RepoStackInput } from "./repo-config";

/** What the user needs to approve the device: safe to show (the device code is not part of it). */
export interface AuthPrompt {
  verificationUri: string;
  verificationUriComplete?: string;
  userCode: string;
  expiresAt: string;
}

/**
 * The vocabulary of runs shared by the queue, the runners, the server and the CLI. A run is one stack
 * operation on one repo stack; its record is persisted before anyone is told it exists.
 */

export const RUN_KINDS = ["onboard", "update", "preview", "refresh", "destroy", "drift-check"] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ["queued", "running", "waiting-for-auth", "succeeded", "failed", "cancelled", "interrupted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a run never leaves: its event stream ends and its cancel answers "already finished". */
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "cancelled"]);

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** How a run is to be executed, as opposed to what the stack is configured with. */
export interface RunOptions {
  /** Skip the OAuth device-flow step (for repos whose agents use existing credentials). */
  skipAuth?: boolean;
  /** Run an onboard or update even when it is up to date with the stack's last successful one. */
  force?: boolean;
}

/**
 * What a run carries: the stack input of an onboard, update or preview (which write it as the stack's config, and
 * must have a serverUrl: that is checked when it is written); for the other kinds, which act on the stack as it
 * is, the input last applied, or only the repo when nothing was.
 */
export type RunRequest = Omit<RepoStackInput, "serverUrl"> & { serverUrl?: string };

export interface RunRecord {
  id: string;
  seq: number;
  kind: RunKind;
  owner: string;
  repo: string;
  stackName: string;
  status: RunStatus;
  step: string | null;
  request: RunRequest;
  options: RunOptions;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  cancelRequestedAt: Date | null;
  interruptions: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  failedStep: string | null;
  failureReason: string | null;
  changeSummary: Record<string, number> | null;
  outputs: Record<string, unknown> | null;
  /** The policy packs that ran and what they found, set when the run ends (null before). */
  policy: RunPolicy | null;
  /** The device-flow prompt while (and after) the run waited for the user; never the device code. */
  auth: AuthPrompt | null;
  /** When credentials arrived through POST /v1/runs/:id/auth. */
  authReceivedAt: Date | null;
  /** An onboard's or update's fingerprint and how it compared (null for other kinds, and before it is claimed). */
  fingerprint: FingerprintRecord | null;
  /** Set on an update answered `up-to-date` without running: the earlier run whose result it repeats. */
  upToDateWith: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What a runner reports while it works: summaries only. Engine events carry whole property bags, which can
 * hold secrets, so nothing here ever does.
 */
export type RunEvent =
  | { type: "step"; step: string; skipped?: string }
  | { type: "resource"; phase: "pre" | "done" | "failed"; op: string; urn: string; resourceType: string }
  | { type: "diagnostic"; severity: string; message: string; urn?: string }
  | { type: "policy"; policyPack: string; policy: string; enforcement: string; message: string; urn?: string }
  | { type: "summary"; changes: Record<string, number>; durationSeconds?: number; policyPacks?: Record<string, string> }
  | { type: "log"; message: string };

export type PolicyViolation = Omit<Extract<RunEvent, { type: "policy" }>, "type">;

export interface RunPolicy {
  /** Pack name → version, of the packs the engine ran (empty for operations that take none). */
  packs: Record<string, string>;
  violations: PolicyViolation[];
}

export type EmitRunEvent = (event: RunEvent) => Promise<void>;

/** An output as Pulumi reports it; `secret` values are redacted wherever outputs are recorded or printed. */
export interface RunOutput {
  value: unknown;
  secret: boolean;
}

export interface RunResult {
  changeSummary: Record<string, number>;
  outputs: Record<string, RunOutput>;
}

export const REDACTED = "[secret]";

export function redactOutputs(outputs: Record<string, RunOutput>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.secret ? REDACTED : o.value]));
}

/** A failure that knows which step of the run it happened in. */
export class RunStepError extends Error {
  constructor(
    readonly step: string,
    readonly reason: string,
  ) {
    super(`${step}: ${reason}`);
    this.name = "RunStepError";
  }
}
