/**
 * The one way an MCP tool acts: a request to this server's own HTTP API with the caller's bearer token, so
 * authentication, roles, validation, errors and the audit trail are the API's and nothing else's. The stdio
 * process (`mcp/stdio.ts`) points it at MESH_SIX_URL; `/mcp` at the address its own request came in on.
 */

export interface ApiCall {
  method: "GET" | "POST" | "DELETE";
  /** The path with its parameters already encoded (see `apiPath`). */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON when given. */
  body?: unknown;
}

/** What the API answered: its status and its JSON body (undefined when it sent none). */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

export type ApiClient = (call: ApiCall) => Promise<ApiAnswer>;

/** The API could not be reached at all (refused, reset, timed out): no answer to pass on. */
export class ApiUnreachableError extends Error {
  constructor(baseUrl: string, cause: unknown) {
    // fetch's own message and its cause's code (ECONNREFUSED…): never the request, which carries the token.
    const code = (cause as { cause?: { code?: unknown } } | null)?.cause?.code;
    super(`the API at ${baseUrl} could not be reached${typeof code === "string" ? ` (${code})` : ""}`);
    this.name = "ApiUnreachableError";
  }
}

/** `/v1/repos/{owner}/{repo}/…` with each parameter percent-encoded, so no argument can change the route. */
export function apiPath(template: string, params: Record<string, string>): string {
  return template.replace(/:([a-zA-Z]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
}

export interface ApiClientOptions {
  /** Where the API is: `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The caller's `Authorization` header, sent as it came (`Bearer …`). */
  authorization: string;
  /** Per request; the default is the API's own request timeout territory. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The base URL as an error may name it: scheme, host and port, never a user or password it held. */
function shownBase(base: string): string {
  try {
    const url = new URL(base);
    return `${url.protocol}//${url.host}`;
  } catch {
    return "(an invalid URL)";
  }
}

export function apiClient(opts: ApiClientOptions): ApiClient {
  const base = opts.baseUrl.replace(/\/+$/, "");
  return async (call) => {
    const url = new URL(`${base}${call.path}`);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: opts.authorization, accept: "application/json" };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method: call.method,
        headers,
        body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ApiUnreachableError(shownBase(base), err);
    }
    const text = await res.text();
    let body: unknown;
    if (text && (res.headers.get("content-type") ?? "").includes("application/json")) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { status: res.status, body };
  };
}
