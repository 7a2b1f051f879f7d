import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { apiClient } from "../server/mcp/api-client";
import { createToolServer } from "../server/mcp/tool-server";

/**
 * `npm run mcp`: the MCP tools over stdio, for a client that spawns its servers (Claude Code, the MCP Inspector).
 * Every tool is a request to a running server's API at MESH_SIX_URL with the token MESH_SIX_TOKEN, so this process
 * holds no state and no power of its own: the token's role is what it may do. stdout is the protocol's; anything
 * else goes to stderr.
 */

function fail(message: string): never {
  process.stderr.write(`mesh-six mcp: ${message}\n`);
  process.exit(2);
}

function settings(env: NodeJS.ProcessEnv): { baseUrl: string; token: string } {
  const baseUrl = env.MESH_SIX_URL?.trim();
  const token = env.MESH_SIX_TOKEN?.trim();
  if (!baseUrl) fail("MESH_SIX_URL is not set: the server's address, e.g. http://127.0.0.1:8080");
  if (!token) fail("MESH_SIX_TOKEN is not set: an API token (its role is what the tools may do)");
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    fail(`MESH_SIX_URL is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") fail(`MESH_SIX_URL must be http(s), not ${url.protocol}`);
  return { baseUrl, token };
}

async function main(): Promise<void> {
  const { baseUrl, token } = settings(process.env);
  const server = createToolServer(apiClient({ baseUrl, authorization: `Bearer ${token}` }));
  await server.connect(new StdioServerTransport());
}

main().catch((err: Error) => fail(`${err.name}: ${err.message}`));
