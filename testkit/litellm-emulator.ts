import { randomBytes } from "node:crypto";
import { type LiteLLMEmulator, startLiteLLMEmulator } from "../emulators/litellm/server";

/** A LiteLLM emulator of a test's own, on a free port, with its master key and the environment that points at it. */
export interface LiteLLMFixture {
  emulator: LiteLLMEmulator;
  masterKey: string;
  /** LITELLM_API_BASE and LITELLM_MASTER_KEY, for a server or a Pulumi run. */
  env: { LITELLM_API_BASE: string; LITELLM_MASTER_KEY: string };
  /** One admin call with the master key. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startLiteLLMFixture(): Promise<LiteLLMFixture> {
  const masterKey = `sk-${randomBytes(18).toString("base64url")}`;
  const emulator = await startLiteLLMEmulator({ masterKey });
  return {
    emulator,
    masterKey,
    env: { LITELLM_API_BASE: emulator.url, LITELLM_MASTER_KEY: masterKey },
    async call(method, path, body) {
      const res = await fetch(`${emulator.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${masterKey}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never };
    },
    close: () => emulator.close(),
  };
}
