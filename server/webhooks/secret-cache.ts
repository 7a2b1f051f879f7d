import type { SecretReader, WebhookSecrets } from "./vault-kv";

/**
 * Webhook secrets by Vault path, cached in memory so a delivery costs no Vault round trip. A signature that
 * fails against the cached secrets triggers one re-read (the secret may have been rotated since it was
 * cached); those forced re-reads are rate-limited per path, so a stream of forged deliveries cannot turn into
 * a stream of Vault reads.
 */
export interface WebhookSecretCacheOptions {
  read: SecretReader;
  /** How long a read secret is trusted (default 5 minutes). */
  ttlMs?: number;
  /** How long "no secret at this path" is trusted (default 10 s: a freshly onboarded repo's ping must get through). */
  missTtlMs?: number;
  /** The least time between two forced re-reads of one path (default 10 s). */
  refreshCooldownMs?: number;
  /**
   * One secret accepted for every known repository besides its own (MESH_SIX_WEBHOOK_FALLBACK_SECRET): for
   * webhooks still signed with a global secret while they move to per-repo ones. Never makes an unknown
   * repository known.
   */
  fallbackSecret?: string;
  now?: () => number;
}

// The package is ESM-only with an "import"-only export map, so this CommonJS build loads it with import().
type WebhookMethods = typeof import("@octokit/webhooks-methods");
let methods: Promise<WebhookMethods> | undefined;
const webhookMethods = (): Promise<WebhookMethods> => (methods ??= import("@octokit/webhooks-methods"));

export type Verdict = "verified" | "mismatch" | "unknown";

interface Entry {
  secrets: WebhookSecrets | undefined;
  loadedAt: number;
}

export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

export class WebhookSecretCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private readonly lastForced = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: WebhookSecretCacheOptions) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.missTtlMs = Math.min(opts.missTtlMs ?? 10_000, this.ttlMs);
    this.cooldownMs = opts.refreshCooldownMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Checks `signature` (X-Hub-Signature-256) over `payload` with the secrets at `path`. */
  async verify(path: string, payload: string, signature: string): Promise<Verdict> {
    const cached = this.fresh(path);
    const entry = cached ?? (await this.load(path));
    if (!entry.secrets) return "unknown";
    if (await this.matches(entry.secrets, payload, signature)) return "verified";
    // Read just now: Vault has nothing newer to say.
    if (!cached) return "mismatch";
    const last = this.lastForced.get(path);
    if (last !== undefined && this.now() - last < this.cooldownMs) return "mismatch";
    this.lastForced.set(path, this.now());
    const reread = await this.load(path);
    if (!reread.secrets) return "unknown";
    return (await this.matches(reread.secrets, payload, signature)) ? "verified" : "mismatch";
  }

  /** Forgets a path's secrets (e.g. after offboarding). */
  invalidate(path: string): void {
    this.entries.delete(path);
  }

  private fresh(path: string): Entry | undefined {
    const entry = this.entries.get(path);
    if (!entry) return undefined;
    const ttl = entry.secrets ? this.ttlMs : this.missTtlMs;
    return this.now() - entry.loadedAt < ttl ? entry : undefined;
  }

  // Concurrent deliveries for one path share one read.
  private load(path: string): Promise<Entry> {
    let pending = this.loading.get(path);
    if (!pending) {
      pending = this.opts
        .read(path)
        .then((secrets) => {
          const entry = { secrets, loadedAt: this.now() };
          this.entries.set(path, entry);
          return entry;
        })
        .finally(() => this.loading.delete(path));
      this.loading.set(path, pending);
    }
    return pending;
  }

  private async matches(secrets: WebhookSecrets, payload: string, signature: string): Promise<boolean> {
    if (!payload || !signature) return false; // the library throws on empty input; neither can be GitHub's
    const others = [secrets.previous, this.opts.fallbackSecret].filter((s): s is string => !!s);
    // Timing-safe comparison of each candidate (the library's).
    const { verifyWithFallback } = await webhookMethods();
    return (await verifyWithFallback(secrets.secret, payload, signature, others)) === true;
  }
}
