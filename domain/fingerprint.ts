import { createHash } from "node:crypto";

/**
 * A run's fingerprint: what an onboard or update would apply, as one hash per named component (`program`,
 * `toolchain:pulumi`, `config:mesh-six:labels`, `env:VAULT_ADDR`, …) and their digest. Components hold hashes, never
 * values, so a secret's value is never stored; the names say what changed between two runs.
 */
export interface RunFingerprint {
  digest: string;
  components: Record<string, string>;
}

/** How the queue judged an onboard or update against the stack's last successful one. */
export type FingerprintVerdict = "up-to-date" | "changed" | "forced" | "first";

/** What a run's record keeps of its fingerprint (runs.fingerprint). */
export interface FingerprintRecord extends RunFingerprint {
  verdict: FingerprintVerdict;
  /** The stack's last successful onboard or update it was compared with. */
  comparedWith: string | null;
  /** Why it ran (what changed, what invalidated the earlier one), or why it did not. */
  reasons: string[];
  /** Set when an applied run succeeded: hashes of the stack's state checkpoint and registry row as it left them. */
  after?: { state: string | null; registry: string | null };
}

export function hashOf(value: string | Uint8Array): string {
  return createHash("sha256").update(value).digest("hex");
}

export function fingerprintOf(components: Record<string, string>): RunFingerprint {
  const sorted = Object.fromEntries(Object.entries(components).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { digest: hashOf(JSON.stringify(sorted)), components: sorted };
}

/** "config changed: mesh-six:labels", "env added: LITELLM_API_BASE", "program changed": one line per component that differs. */
export function changedComponents(before: Record<string, string>, after: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const lines: string[] = [];
  for (const name of names) {
    if (before[name] === after[name]) continue;
    const how = before[name] === undefined ? "added" : after[name] === undefined ? "removed" : "changed";
    const at = name.indexOf(":");
    lines.push(at < 0 ? `${name} ${how}` : `${name.slice(0, at)} ${how}: ${name.slice(at + 1)}`);
  }
  return lines;
}
