/**
 * Vault KV v2 calls for dynamic resources that write a secret they created themselves (the secret never passes
 * through Pulumi's state). Vault is reached through VAULT_ADDR and VAULT_TOKEN in the environment of the Pulumi
 * run. These functions use only globals, because Pulumi serializes them into the dynamic-provider process.
 */

function vaultUrl(mount: string, kind: "data" | "metadata", path: string): { url: string; token: string } {
  const addr = process.env.VAULT_ADDR;
  const token = process.env.VAULT_TOKEN;
  if (!addr || !token) throw new Error("VAULT_ADDR and VAULT_TOKEN must be set for Vault secrets");
  // Each segment escaped: a `?` or `#` in a key would otherwise cut the URL short of the path that was checked.
  return { url: `${addr.replace(/\/$/, "")}/v1/${mount}/${kind}/${path.split("/").map(encodeURIComponent).join("/")}`, token };
}

/** Writes the secret's next version; answers the version number. */
export async function vaultKvWrite(mount: string, path: string, data: Record<string, string>): Promise<number> {
  const { url, token } = vaultUrl(mount, "data", path);
  const res = await fetch(url, {
    method: "POST",
    headers: { "X-Vault-Token": token, "Content-Type": "application/json" },
    body: JSON.stringify({ data }),
  });
  if (!res.ok) throw new Error(`Vault refused writing ${mount}/${path}: HTTP ${res.status}`);
  return ((await res.json()) as { data: { version: number } }).data.version;
}

/** The secret's current data and version, or undefined when there is none (or its latest version is deleted). */
export async function vaultKvRead(mount: string, path: string): Promise<{ data: Record<string, string>; version: number } | undefined> {
  const { url, token } = vaultUrl(mount, "data", path);
  const res = await fetch(url, { headers: { "X-Vault-Token": token } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`Vault refused reading ${mount}/${path}: HTTP ${res.status}`);
  const body = (await res.json()) as { data: { data: Record<string, string> | null; metadata: { version: number } } };
  return body.data.data ? { data: body.data.data, version: body.data.metadata.version } : undefined;
}

/** Deletes every version and the metadata, so nothing of the secret is left behind. */
export async function vaultKvDestroy(mount: string, path: string): Promise<void> {
  const { url, token } = vaultUrl(mount, "metadata", path);
  const res = await fetch(url, { method: "DELETE", headers: { "X-Vault-Token": token } });
  if (!res.ok && res.status !== 404) throw new Error(`Vault refused deleting ${mount}/${path}: HTTP ${res.status}`);
}
