import type { TestServer } from "./server";

export interface IssuedToken {
  id: string;
  token: string;
}

/** Issues a token through the API (as the configured admin token); returns its id and text. */
export async function issueToken(
  srv: Pick<TestServer, "request">,
  spec: { name: string; role: string; agentId?: string },
): Promise<IssuedToken> {
  const res = await srv.request("/v1/tokens", { method: "POST", json: spec });
  if (res.status !== 201) throw new Error(`POST /v1/tokens: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string; token: string };
  return { id: body.id, token: body.token };
}
