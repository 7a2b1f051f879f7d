/**
 * Reads webhook secrets from Vault's KV v2 HTTP API: one GET per path, no client library, no caching
 * (WebhookSecretCache does that). And writes the one kind of secret the server makes itself, a notification
 * webhook's signing secret (vaultKvWriter).
 */

/** A webhook's secrets as stored: the current one and, during a rotation, the one it replaced. */
export interface WebhookSecrets {
  secret: string;
  previous?: string;
}

export interface VaultKvOptions {
  addr: string;
  token: string;
  /** The KV v2 mount (default "secret"). */
  mount?: string;
  timeoutMs?: number;
}

export class SecretStoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretStoreUnavailableError";
  }
}

/** undefined when the path holds no secret (never written, deleted, or without a usable `secret`). */
export type SecretReader = (path: string) => Promise<WebhookSecrets | undefined>;

export function vaultKvReader(opts: VaultKvOptions): SecretReader {
  const base = opts.addr.replace(/\/+$/, "");
  const mount = opts.mount ?? "secret";
  return async (path) => {
    const url = `${base}/v1/${mount}/data/${path.split("/").map(encodeURIComponent).join("/")}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { "X-Vault-Token": opts.token }, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    } catch (err) {
      throw new SecretStoreUnavailableError(`vault: ${(err as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    // The path only: Vault's error body could echo what was asked, and never the token.
    if (!res.ok) throw new SecretStoreUnavailableError(`vault: GET ${mount}/data/${path}: HTTP ${res.status}`);
    const body = (await res.json()) as { data?: { data?: Record<string, unknown> | null } };
    const data = body.data?.data;
    if (!data || typeof data.secret !== "string" || data.secret === "") return undefined;
    const previous = typeof data.previous === "string" && data.previous !== "" ? data.previous : undefined;
    return previous ? { secret: data.secret, previous } : { secret: data.secret };
  };
}

/** Writes and removes secrets the server made itself; every failure is a SecretStoreUnavailableError naming the path only. */
export interface SecretWriter {
  write(path: string, data: Record<string, string>): Promise<void>;
  /** Every version and the metadata: nothing of the secret is left. */
  destroy(path: string): Promise<void>;
}

export function vaultKvWriter(opts: VaultKvOptions): SecretWriter {
  const base = opts.addr.replace(/\/+$/, "");
  const mount = opts.mount ?? "secret";
  const call = async (kind: "data" | "metadata", path: string, init: RequestInit) => {
    const url = `${base}/v1/${mount}/${kind}/${path.split("/").map(encodeURIComponent).join("/")}`;
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: { "X-Vault-Token": opts.token, "Content-Type": "application/json" },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
      });
    } catch (err) {
      throw new SecretStoreUnavailableError(`vault: ${(err as Error).message}`);
    }
    await res.body?.cancel();
    if (!res.ok && !(init.method === "DELETE" && res.status === 404)) {
      throw new SecretStoreUnavailableError(`vault: ${init.method} ${mount}/${kind}/${path}: HTTP ${res.status}`);
    }
  };
  return {
    write: (path, data) => call("data", path, { method: "POST", body: JSON.stringify({ data }) }),
    destroy: (path) => call("metadata", path, { method: "DELETE" }),
  };
}
