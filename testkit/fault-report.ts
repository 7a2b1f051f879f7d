/**
 * What each fault test saw, written as one JSON file per test so that scripts/reliability can render
 * docs/RELIABILITY.md from a run of the fault tier (the document is generated, never edited by hand).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

export const RELIABILITY_DIR = process.env.MESH_SIX_RELIABILITY_DIR ?? path.resolve(__dirname, "../.sandbox/reliability");

/** Accepted = answered 2xx by the server; accounted = found in the database afterwards in a final or resumable state. */
export interface Ledger {
  accepted: number;
  accounted: number;
}

export interface FaultResult {
  /** Short name of the fault, e.g. "server killed during up". */
  fault: string;
  /** What was done, in one sentence. */
  injected: string;
  /** What the system did about it, in one sentence (e.g. "run interrupted, recovered, succeeded"). */
  outcome: string;
  runs?: Ledger;
  deliveries?: Ledger;
  tasks?: Ledger;
  /** Requests sent in all (the hostile-request test) and how they were answered, by status. */
  requests?: { sent: number; byStatus: Record<string, number> };
  /** Log lines scanned for secrets, and how many of them held one (must be 0). */
  logLines: number;
  secretsInLogs: number;
  durationMs: number;
}

export function recordFault(result: FaultResult): void {
  mkdirSync(RELIABILITY_DIR, { recursive: true });
  const slug = result.fault
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  writeFileSync(
    path.join(RELIABILITY_DIR, `${slug}.json`),
    `${JSON.stringify({ ...result, recordedAt: new Date().toISOString() }, null, 2)}\n`,
  );
}

/** The log lines that contain any of the secrets (each at least 8 characters, so that nothing short matches by chance). */
export function linesWithSecrets(lines: readonly string[], secrets: readonly (string | undefined)[]): string[] {
  const wanted = secrets.filter((s): s is string => typeof s === "string" && s.length >= 8);
  return lines.filter((line) => wanted.some((s) => line.includes(s)));
}
