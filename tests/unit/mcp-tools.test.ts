import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type ApiCall, type ApiClient, apiClient } from "../../server/mcp/api-client";
import { createToolServer } from "../../server/mcp/tool-server";

/**
 * How a tool call becomes one API request and its answer the tool's result, over the SDK's in-memory transport.
 * The server tier (tests/server/mcp.test.ts) runs them against the real API.
 */

async function connected(api: ApiClient): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createToolServer(api).connect(serverSide);
  const client = new Client({ name: "unit", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

/** An API that records what it was sent and answers `answer`. */
function recordingApi(answer = { status: 202, body: { runId: "r1", kind: "preview", status: "queued", position: 0 } as unknown }) {
  const calls: ApiCall[] = [];
  const api: ApiClient = (call) => {
    calls.push(call);
    return Promise.resolve(answer);
  };
  return { api, calls };
}

const callTool = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;
const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

let silent: Server;
let silentUrl = "";
let closedPort = 0;
before(async () => {
  // A port nothing listens on (fetch itself refuses some low ones, such as 1, as "bad ports").
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  // Answers every request with a proxy's HTML error page: no API error body to pass on.
  silent = createServer((_req, res) => res.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad Gateway</h1>"));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => silent.close(() => resolve())));

test("arguments go to the API as given: a preview of nothing sends an empty body, not the schema's defaults", async () => {
  const { api, calls } = recordingApi();
  const client = await connected(api);
  const accepted = await callTool(client, "preview-repo", { owner: "acme", repo: "widgets" });
  assert.deepEqual(calls, [{ method: "POST", path: "/v1/repos/acme/widgets/preview", body: {} }]);
  assert.match(text(accepted), /^run r1 \(preview\) is queued, next in its stack's queue: follow it with get-run/);
  await callTool(client, "preview-repo", { owner: "acme", repo: "widgets", displayName: "W", labels: 7 });
  assert.deepEqual(calls[1].body, { displayName: "W", labels: 7 }, "not validated here: the API says what is wrong");
});

test("path parameters are percent-encoded, so no argument can reach another route", async () => {
  const { api, calls } = recordingApi();
  const client = await connected(api);
  await callTool(client, "refresh-repo", { owner: "../tokens", repo: "x?y#z" });
  await callTool(client, "get-run", { runId: "../../tokens" });
  assert.deepEqual(
    calls.map((c) => c.path),
    ["/v1/repos/..%2Ftokens/x%3Fy%23z/refresh", "/v1/runs/..%2F..%2Ftokens"],
  );
});

test("list tools send their filters as the query", async () => {
  const { api, calls } = recordingApi({ status: 200, body: { runs: [], nextCursor: null } });
  const client = await connected(api);
  await callTool(client, "list-runs", { kind: "refresh", limit: 5, status: ["a"] });
  assert.deepEqual(calls[0], { method: "GET", path: "/v1/runs", query: { kind: "refresh", limit: 5, status: '["a"]' } });
  await callTool(client, "list-runs", { owner: "acme", repo: "widgets", cursor: "c1" });
  assert.deepEqual(calls[1], { method: "GET", path: "/v1/repos/acme/widgets/runs", query: { cursor: "c1" } });
  const half = await callTool(client, "list-runs", { owner: "acme" });
  assert.deepEqual(half.structuredContent, { status: 400, error: "invalid_request", issues: [{ field: "repo", message: "required" }] });
});

test("a missing path parameter or a wrong confirmation is refused before anything is sent, in the API's shape", async () => {
  const { api, calls } = recordingApi();
  const client = await connected(api);
  const missing = await callTool(client, "offboard-repo", { owner: "acme", confirm: "acme/" });
  assert.deepEqual(missing.structuredContent, { status: 400, error: "invalid_request", issues: [{ field: "repo", message: "required" }] });
  const wrong = await callTool(client, "offboard-repo", { owner: "acme", repo: "widgets", confirm: "ACME/widgets" });
  assert.equal(wrong.isError, true);
  assert.match(text(wrong), /^invalid_request \(HTTP 400\): a request part is invalid.*\n {2}confirm: must be "acme\/widgets"/);
  assert.equal(calls.length, 0);
  await callTool(client, "offboard-repo", { owner: "acme", repo: "widgets", confirm: "acme/widgets" });
  assert.deepEqual(calls, [{ method: "DELETE", path: "/v1/repos/acme/widgets" }]);
});

test("an API that cannot be reached, or answers without an error body, is a tool error naming neither token nor password", async () => {
  const token = "secret-token-not-to-show";
  const refused = await callTool(
    await connected(apiClient({ baseUrl: `http://127.0.0.1:${closedPort}`, authorization: `Bearer ${token}` })),
    "list-repos",
    {},
  );
  assert.equal(refused.isError, true);
  assert.deepEqual(refused.structuredContent, {
    error: "api_unreachable",
    message: `the API at http://127.0.0.1:${closedPort} could not be reached (ECONNREFUSED)`,
  });
  // fetch refuses a URL with credentials in it: the error shows the URL without them.
  const withUser = await callTool(
    await connected(apiClient({ baseUrl: "http://user:pw@127.0.0.1:1", authorization: token })),
    "list-repos",
    {},
  );
  assert.equal(text(withUser), "the API at http://127.0.0.1:1 could not be reached");
  const proxy = await connected(apiClient({ baseUrl: silentUrl, authorization: `Bearer ${token}` }));
  const html = await callTool(proxy, "get-run", { runId: "r1" });
  assert.deepEqual(html.structuredContent, { status: 502 });
  assert.equal(text(html), "the API answered HTTP 502 without an error body");
  for (const r of [refused, withUser, html]) assert.ok(!JSON.stringify(r).includes(token) && !JSON.stringify(r).includes("pw@"));
});

test("a fault of the tool's own is internal_error with no stack", async () => {
  const client = await connected(() => Promise.reject(new TypeError("boom at /srv/secret/path.ts:1:2")));
  const failed = await callTool(client, "list-repos", {});
  assert.deepEqual(failed.structuredContent, { error: "internal_error" });
  assert.equal(text(failed), "internal_error: the tool failed (TypeError)");
});
