/**
 * Where a Vault KV v2 write really lands, shared by the `webhook-secret-path` policy and the VaultKvSecret
 * component so that both refuse exactly the same paths. It imports nothing: the policy pack must not load stack
 * programs or the Pulumi SDK to judge a path.
 *
 * The component writes `<VAULT_ADDR>/v1/<mount>/data/<path>`. Before Vault sees that, URL parsing resolves `.` and
 * `..` segments, also percent-encoded ones (`%2e`, `%2E`), reads `\` as `/` and drops tabs and newlines; Vault
 * then decodes `%2f` into a separator. So a path is judged by the segments it resolves to: percent-decoding is
 * repeated until nothing changes (`%252e` is `%2e` is `.`), `\` is a separator, empty and `.` segments go, `..`
 * removes the segment before it, and a `..` with nothing left to remove climbs out of the mount (refused, since
 * above the mount are other mounts and `sys/`). Control characters and malformed escapes are refused, not guessed.
 */

export const WEBHOOK_SECRET_PREFIX = "mesh-six/webhooks/";

export type NormalisedPath = { path: string; problem?: undefined } | { path?: undefined; problem: string };

// Bounded: each round removes at least one '%' escape, and nobody writes a name escaped more than a few times.
const MAX_DECODE_ROUNDS = 8;

/** The path as Vault resolves it (no leading, trailing or doubled slashes, no dot segments), or why it has none. */
export function normaliseVaultPath(raw: string): NormalisedPath {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { problem: "contains control characters" };
  let decoded = raw;
  for (let round = 0; ; round++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return { problem: "has a malformed percent-escape" };
    }
    if (next === decoded) break;
    if (round === MAX_DECODE_ROUNDS) return { problem: "is percent-encoded too many times over" };
    decoded = next;
  }
  // eslint-disable-next-line no-control-regex -- a decoded %09 or %00 is as bad as a literal one
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return { problem: "contains control characters" };
  const segments: string[] = [];
  for (const segment of decoded.split(/[/\\]/)) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length === 0) return { problem: "climbs out of the mount with .." };
      segments.pop();
    } else {
      segments.push(segment);
    }
  }
  return { path: segments.join("/") };
}

// Plain segments only: a dot or an escape could move the write (see above), and a `data` or `metadata` segment
// would make `<mount>/data/<path>` read as a different mount and path (mount `secret/data` writes the key
// `data/<path>` of the mount `secret`).
const MOUNT = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** Why a KV v2 mount could move the write elsewhere, or undefined. */
export function vaultMountProblem(mount: unknown): string | undefined {
  if (typeof mount !== "string" || !MOUNT.test(mount))
    return `mount ${JSON.stringify(mount)} is not plain segments of letters, digits, _ and -`;
  if (mount.split("/").some((s) => s === "data" || s === "metadata"))
    return `mount ${JSON.stringify(mount)} has a data or metadata segment`;
  return undefined;
}

/**
 * The webhook secret path Vault would write, or why it is refused: it must resolve to something strictly below
 * `prefix` (default mesh-six/webhooks/, where the server reads webhook secrets).
 */
export function webhookSecretPath(raw: unknown, prefix = WEBHOOK_SECRET_PREFIX): NormalisedPath {
  if (typeof raw !== "string") return { problem: `path ${JSON.stringify(raw)} is not a string` };
  const normalised = normaliseVaultPath(raw);
  if (normalised.problem !== undefined) return { problem: `path ${JSON.stringify(raw)} ${normalised.problem}, outside ${prefix}` };
  const base = normaliseVaultPath(prefix).path ?? prefix;
  if (!normalised.path.startsWith(`${base}/`)) {
    return { problem: `path ${JSON.stringify(raw)} resolves to ${JSON.stringify(normalised.path)}, outside ${prefix}` };
  }
  return normalised;
}
