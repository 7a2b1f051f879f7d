import type { Request, RequestHandler, Router } from "express";
import express from "express";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { authorize } from "../auth";
import { apiClient } from "./api-client";
import { createToolServer } from "./tool-server";

/**
 * `/mcp`: the tools over Streamable HTTP, stateless (a server and transport per request, answers as JSON, no
 * sessions), so any replica can take any request. Authenticated by the app's bearer-token middleware like every
 * path that is not open; using MCP at all needs the viewer role, and what each tool may do is decided by the API
 * route it calls, with the caller's own Authorization header. No Host-header check (the SDK's guard against DNS
 * rebinding): a page a browser was tricked into loading cannot send the bearer token.
 */

export const MCP_PATH = "/mcp";

// An onboarding request may be 64 kB (the API's limit); the JSON-RPC envelope around it adds little.
const MCP_BODY_LIMIT = "128kb";

/**
 * The API as the tools reach it: through the listening socket this request came in on (its local address and port),
 * so a tool's request passes auth, roles, body parsing, validation, the audit log and the error handler exactly as
 * any client's does, on whatever address and port the server listens. Once a stopping replica has closed its
 * listener, a tool's call answers api_unreachable: the client sends it again, to another replica.
 */
function ownApiUrl(req: Request): string {
  const { localAddress, localPort } = req.socket;
  const host = localAddress?.includes(":") ? `[${localAddress}]` : (localAddress ?? "127.0.0.1");
  return `http://${host}:${localPort}`;
}

const serveMcp: RequestHandler = async (req, res, next) => {
  const server = createToolServer(apiClient({ baseUrl: ownApiUrl(req), authorization: req.get("authorization") ?? "" }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    void transport.close();
    void server.close();
  });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (err) {
    next(err);
  }
};

// Stateless: no stream of server-initiated messages to GET, no session to DELETE.
const notAllowed: RequestHandler = (_req, res) => {
  res
    .status(405)
    .set("Allow", "POST")
    .json({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: this server is stateless, POST only" }, id: null });
};

export function mcpRouter(): Router {
  const router = express.Router();
  const guard = authorize({ path: MCP_PATH, role: "viewer" });
  router.post(MCP_PATH, guard, express.json({ limit: MCP_BODY_LIMIT }), serveMcp);
  router.get(MCP_PATH, guard, notAllowed);
  router.delete(MCP_PATH, guard, notAllowed);
  return router;
}
