/**
 * The LiteLLM proxy admin calls the LiteLLM team resource makes. The proxy is reached through LITELLM_API_BASE
 * and LITELLM_MASTER_KEY in the environment of the Pulumi run (as GitHub is through GITHUB_TOKEN), so the master
 * key never enters a stack's state. These functions use only globals, because Pulumi serializes them into the
 * dynamic-provider process.
 */

export class LiteLLMApiError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
    detail: string,
  ) {
    super(`LiteLLM ${operation} failed: HTTP ${status} ${detail}`);
    this.name = "LiteLLMApiError";
  }
}

export interface LiteLLMTeam {
  team_id: string;
  team_alias: string | null;
  models: string[];
  max_budget: number | null;
}

export interface LiteLLMKeyInfo {
  token: string;
  key_alias: string | null;
  team_id: string | null;
}

/** What /key/generate and /key/{key}/regenerate answer: the key itself is only ever in `key`. */
export interface LiteLLMGeneratedKey {
  key: string;
  token: string;
  key_alias: string | null;
  team_id: string | null;
}

export function liteLLMBase(): string {
  const base = process.env.LITELLM_API_BASE;
  if (!base) throw new Error("LITELLM_API_BASE must be set for LiteLLM resources");
  return base.replace(/\/$/, "");
}

/** One admin call; undefined for 404 when `allowNotFound`. */
export async function liteLLMCall<T>(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  options: { allowNotFound?: boolean } = {},
): Promise<T | undefined> {
  const masterKey = process.env.LITELLM_MASTER_KEY;
  if (!masterKey) throw new Error("LITELLM_MASTER_KEY must be set for LiteLLM resources");
  const res = await fetch(`${liteLLMBase()}${path}`, {
    method,
    headers: { Authorization: `Bearer ${masterKey}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // The operation is named without its query: /key/info's query is a key.
  const operation = `${method} ${path.split("?")[0]}`;
  if (res.status === 404 && options.allowNotFound) return undefined;
  if (!res.ok) {
    const text = await res.text();
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error?: { message?: string }; detail?: unknown };
      message = parsed.error?.message ?? (parsed.detail === undefined ? message : JSON.stringify(parsed.detail));
    } catch {
      // not JSON: keep the text
    }
    // A message may quote what was sent; keys are never sent in a body, only the master key in a header.
    throw new LiteLLMApiError(res.status, operation, message.replace(/sk-[A-Za-z0-9_-]+/g, "sk-[redacted]"));
  }
  return (await res.json()) as T;
}
