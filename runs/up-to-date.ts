import { type Queryable, registrationDigest } from "../db/registry";
import { changedComponents, type FingerprintRecord, type RunFingerprint } from "../domain/fingerprint";
import type { RunRecord } from "../domain/runs";
import type { RunFingerprinter } from "../pulumi/run-fingerprint";
import { driftOf } from "./drift";
import { lastAppliedUpdate, runsEndedSince } from "./run-store";

/**
 * Whether an onboard or update may be answered `up-to-date` without starting Pulumi: its fingerprint equals that of
 * the stack's last onboard or update that ran and succeeded (the base), and nothing since may have moved the world or
 * the state away from what the base left. What invalidates the base (docs/ARCHITECTURE.md, "Up-to-date updates"):
 *
 * - a later onboard or update that failed or was cancelled once started (it may have changed part of the stack);
 * - a refresh or an offboard (destroy), whatever their outcome;
 * - a drift check that found drift (a failed one proves nothing either way);
 * - the stack's state checkpoint differing from the one the base left (a `pulumi up` by hand, a recovery, an import,
 *   a state migration), or its registry row differing from, or missing since, what the base left;
 * - the world last seen in sync (by the base's refresh-first `up`, or a later drift check without drift) longer ago
 *   than `maxObservationAgeMs`, the drift-check interval: the GitHub, Vault, LiteLLM, storage and board objects are
 *   not re-read by an up-to-date answer, so it may only repeat an observation the drift schedule keeps fresh.
 *
 * Previews and earlier up-to-date answers change nothing and invalidate nothing.
 */
export interface UpToDateOptions {
  fingerprinter: RunFingerprinter;
  maxObservationAgeMs: number;
}

export interface UpToDateDecision {
  record: FingerprintRecord;
  /** Set when the run is up to date: the base whose result it repeats. */
  base?: RunRecord;
}

export async function decideUpToDate(
  db: Queryable,
  run: RunRecord,
  fingerprint: RunFingerprint,
  opts: UpToDateOptions,
  now = Date.now(),
): Promise<UpToDateDecision> {
  const base = await lastAppliedUpdate(db, run.stackName);
  const record = (verdict: FingerprintRecord["verdict"], reasons: string[]): FingerprintRecord => ({
    ...fingerprint,
    verdict,
    comparedWith: base?.id ?? null,
    reasons,
  });
  if (!base) return { record: record("first", ["no earlier onboard or update of this stack succeeded"]) };
  if (!base.fingerprint) return { record: record("first", [`run ${base.id} recorded no fingerprint`]) };
  const reasons = changedComponents(base.fingerprint.components, fingerprint.components);
  reasons.push(...(await invalidations(db, run, base, opts, now)));
  if (run.options.force) return { record: record("forced", ["the request set force", ...reasons]) };
  if (reasons.length > 0) return { record: record("changed", reasons) };
  return { record: record("up-to-date", [`identical to run ${base.id}, and nothing since invalidated it`]), base };
}

async function invalidations(db: Queryable, run: RunRecord, base: RunRecord, opts: UpToDateOptions, now: number): Promise<string[]> {
  const reasons: string[] = [];
  const baseEnded = base.finishedAt ?? new Date(0);
  let observedAt = baseEnded.getTime();
  for (const later of await runsEndedSince(db, run.stackName, baseEnded)) {
    const name = `${later.kind} ${later.id}`;
    if (later.kind === "refresh") reasons.push(`a refresh ran since (${name})`);
    else if (later.kind === "destroy") reasons.push(`the repo was offboarded since (${name})`);
    else if ((later.kind === "onboard" || later.kind === "update") && later.status !== "succeeded")
      reasons.push(`a later ${name} ${later.status === "cancelled" ? "was cancelled" : "failed"}`);
    else if (later.kind === "drift-check" && later.status === "succeeded") {
      if (driftOf(later.changeSummary) === "drifted") reasons.push(`a drift check found drift (${name})`);
      else observedAt = Math.max(observedAt, later.finishedAt?.getTime() ?? 0);
    }
  }
  if (now - observedAt > opts.maxObservationAgeMs) {
    reasons.push(
      `the world was last seen in sync at ${new Date(observedAt).toISOString()}, longer ago than the drift-check interval (${opts.maxObservationAgeMs} ms)`,
    );
  }
  const after = base.fingerprint?.after;
  if (!after) reasons.push(`run ${base.id} recorded no state after it`);
  else {
    const state = await opts.fingerprinter.stateIdentity(run.stackName).then(
      (identity) => ({ identity }),
      (err: Error) => ({ error: err.message }),
    );
    if ("error" in state) reasons.push(`the stack's state could not be read: ${state.error}`);
    else if (state.identity !== (after.state ?? undefined))
      reasons.push("the stack's state changed outside this server's runs (a Pulumi command by hand, a recovery or a migration)");
    const registry = await registrationDigest(db, run.stackName);
    if (registry !== (after.registry ?? undefined))
      reasons.push(registry === undefined ? "the repo's registry row is gone" : "the repo's registry row changed since");
  }
  return reasons;
}

/** What an applied onboard or update leaves for the next one to compare with. */
export async function stateAfter(db: Queryable, stackName: string, fingerprinter: RunFingerprinter): Promise<FingerprintRecord["after"]> {
  return {
    state: (await fingerprinter.stateIdentity(stackName)) ?? null,
    registry: (await registrationDigest(db, stackName)) ?? null,
  };
}
