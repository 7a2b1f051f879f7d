import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolResult,
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ERROR_CODES } from "../errors";
import { type ApiClient, ApiUnreachableError } from "./api-client";
import { ToolArgumentError, TOOLS, type ToolSpec } from "./tools";

/**
 * One MCP server over the tools of ./tools.ts. The SDK's low-level Server, not McpServer: McpServer parses every
 * call's arguments with the tool's zod schema before the handler sees them, answering its own validation text and
 * filling in defaults, where here the arguments go to the API untouched and the API's error is the tool's.
 */

export const MCP_SERVER_INFO = { name: "mesh-six", version: "1.0.0" };

const INSTRUCTIONS =
  "mesh-six's control plane: onboard GitHub repositories, follow their runs, preview, refresh, check drift, offboard, " +
  "and move agents' tasks. Every tool is one request to the server's HTTP API with your token: what your token's role " +
  "may not do is refused as the API refuses it (forbidden, naming the role needed).";

/** The schema as clients see it: JSON Schema of the input side, defaults left out where omission means "as applied". */
function jsonSchemaOf(spec: ToolSpec): Tool["inputSchema"] {
  return z.toJSONSchema(spec.input, {
    io: "input",
    unrepresentable: "any",
    override: spec.omitDefaults ? (ctx) => void delete (ctx.jsonSchema as { default?: unknown }).default : undefined,
  }) as Tool["inputSchema"];
}

let listedTools: Tool[] | undefined;

/** Every tool and alias as tools/list answers them (computed once: the schemas do not change). */
function listed(): Tool[] {
  listedTools ??= TOOLS.flatMap((spec) => {
    const tool: Tool = {
      name: spec.name,
      title: spec.title,
      description: spec.description,
      inputSchema: jsonSchemaOf(spec),
      annotations: spec.annotations,
    };
    const aliases = (spec.aliases ?? []).map((alias): Tool => ({
      ...tool,
      name: alias,
      description: `The old system's name for ${spec.name}, the same tool: ${spec.description}`,
    }));
    return [tool, ...aliases];
  });
  return listedTools;
}

const BY_NAME = new Map(TOOLS.flatMap((spec) => [spec.name, ...(spec.aliases ?? [])].map((name) => [name, spec] as const)));

function result(text: string, structured: Record<string, unknown>, isError = false): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured, ...(isError ? { isError } : {}) };
}

/** The API's error as the tool's: its code with what the code means, the fields it named, and its body as it came. */
function apiError(status: number, body: unknown): CallToolResult {
  const answer = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const code = typeof answer.error === "string" ? answer.error : undefined;
  if (!code) return result(`the API answered HTTP ${status} without an error body`, { status }, true);
  const meaning = (ERROR_CODES as Record<string, { description: string } | undefined>)[code]?.description;
  const issues = Array.isArray(answer.issues) ? (answer.issues as { field: string; message: string }[]) : [];
  const lines = [`${code} (HTTP ${status})${meaning ? `: ${meaning}` : ""}`, ...issues.map((i) => `  ${i.field}: ${i.message}`)];
  return result(`${lines.join("\n")}\n\n${JSON.stringify(answer)}`, { status, ...answer }, true);
}

async function call(api: ApiClient, spec: ToolSpec, args: Record<string, unknown>): Promise<CallToolResult> {
  let request;
  try {
    request = spec.request(args);
  } catch (err) {
    if (!(err instanceof ToolArgumentError)) throw err;
    return apiError(400, { error: "invalid_request", issues: err.issues });
  }
  let answer;
  try {
    answer = await api(request);
  } catch (err) {
    if (!(err instanceof ApiUnreachableError)) throw err;
    return result(err.message, { error: "api_unreachable", message: err.message }, true);
  }
  if (answer.status >= 400) return apiError(answer.status, answer.body);
  const body = answer.body && typeof answer.body === "object" ? (answer.body as Record<string, unknown>) : {};
  const json = JSON.stringify(body, null, 2);
  return result(spec.summary ? `${spec.summary(body)}\n\n${json}` : json, body);
}

/** A server whose every tool calls the API through `api` (bound to one caller's token). */
export function createToolServer(api: ApiClient): Server {
  const server = new Server(MCP_SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const tools = listed();
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const spec = BY_NAME.get(req.params.name);
    if (!spec) throw new McpError(ErrorCode.InvalidParams, `no tool named ${JSON.stringify(req.params.name)}`);
    try {
      return await call(api, spec, req.params.arguments ?? {});
    } catch (err) {
      // A fault of ours, not the API's answer: its name only, never a stack or what was sent.
      return result(`internal_error: the tool failed (${(err as Error)?.name ?? "Error"})`, { error: "internal_error" }, true);
    }
  });
  return server;
}
