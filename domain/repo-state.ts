import type { RunKind, RunStatus } from "./runs";

/**
 * Where a repository is in its life on the platform, read from what decides it: its lifecycle runs (onboard,
 * update, destroy), its registry row (written by its stack, from the server or the CLI) and the drift verdict kept
 * there. docs/ARCHITECTURE.md ("Repo lifecycle") draws the transitions.
 */
export const REPO_STATES = ["onboarding", "onboarded", "drifted", "offboarding", "offboarded", "failed"] as const;
export type RepoState = (typeof REPO_STATES)[number];

/** The runs that change what a repo has on the platform; refresh, preview and drift-check runs do not. */
export const LIFECYCLE_KINDS = ["onboard", "update", "destroy"] as const satisfies readonly RunKind[];
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

export interface RepoFacts {
  /** The newest lifecycle run not finished yet (queued, running, waiting for auth or interrupted). */
  pending?: { kind: LifecycleKind };
  /**
   * The newest finished lifecycle run that started: one cancelled while still queued changed nothing. Runs of a
   * stack execute one at a time in queue order, so the newest is also the last to finish.
   */
  last?: { kind: LifecycleKind; status: Extract<RunStatus, "succeeded" | "failed" | "cancelled">; finishedAt: Date };
  /** The registry row, when there is one: when its stack last wrote it, and the drift verdict kept on it. */
  registry?: { updatedAt: Date; driftStatus: string; driftCheckedAt: Date | null };
}

/**
 * The first of these that holds:
 * - offboarding: a destroy is queued or under way;
 * - onboarding: an onboard is queued or under way (an update under way leaves the state as it was);
 * - failed: the last lifecycle run that started failed or was cancelled, so the stack may be half applied (unless
 *   a stack registered the repo after it: an up from the CLI);
 * - offboarded: the last one was a successful destroy (and no stack registered the repo again since), or none
 *   ever applied anything;
 * - drifted: onboarded, and a drift check made since the last lifecycle run finished found changes;
 * - onboarded: the last successful onboard or update, or a registry row its stack wrote (from the CLI, without a run).
 */
export function repoState(f: RepoFacts): RepoState {
  if (f.pending?.kind === "destroy") return "offboarding";
  if (f.pending?.kind === "onboard") return "onboarding";
  const { last, registry } = f;
  const registeredSince = registry !== undefined && (!last || registry.updatedAt > last.finishedAt);
  if (last && last.status !== "succeeded" && !registeredSince) return "failed";
  const onboarded = last ? last.kind !== "destroy" || registeredSince : registry !== undefined;
  if (!onboarded) return "offboarded";
  const checkedSince = registry?.driftCheckedAt != null && (!last || registry.driftCheckedAt > last.finishedAt);
  return checkedSince && registry?.driftStatus === "drifted" ? "drifted" : "onboarded";
}

/** What GET /v1/repos lists by default: every repo still on the platform, or on its way on or off. */
export function isCurrent(state: RepoState): boolean {
  return state !== "offboarded";
}
