import type { FieldIssue } from "./types";

/**
 * The one way the dashboard talks to the server: the public API under /v1 with the user's bearer token. The token
 * lives in this tab's sessionStorage only (gone when the tab closes), and goes in the Authorization header, never
 * in a URL.
 */
const TOKEN_KEY = "mesh-six.api-token";

export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  save(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An error answer: its status and the body's machine-readable code and fields (server/errors.ts). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(describe(status, body));
    this.name = "ApiError";
  }

  get code(): string {
    return typeof this.body.error === "string" ? this.body.error : `http_${this.status}`;
  }

  get issues(): FieldIssue[] {
    return Array.isArray(this.body.issues) ? (this.body.issues as FieldIssue[]) : [];
  }

  /** The server has no such route: a view that needs it says which, and shows what it can without. */
  get routeMissing(): boolean {
    return this.status === 404 && this.code === "not_found";
  }
}

function describe(status: number, body: Record<string, unknown>): string {
  const code = typeof body.error === "string" ? body.error : `HTTP ${status}`;
  switch (code) {
    case "forbidden":
      return `Your token may not do this: it needs the ${String(body.required)} role.`;
    case "unauthenticated":
      return "The server did not accept this token (unknown or revoked).";
    case "invalid_request":
      return `The request was refused: ${((body.issues as FieldIssue[]) ?? []).map((i) => `${i.field}: ${i.message}`).join("; ")}`;
    case "run_finished":
      return `The run already finished (${String(body.status)}).`;
    default: {
      const extra = Object.entries(body)
        .filter(([k]) => k !== "error")
        .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
      return extra.length ? `${code} (${extra.join(", ")})` : code;
    }
  }
}

/** Called when the server refuses the token: the dashboard goes back to its login. */
let onUnauthenticated: () => void = () => undefined;
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export function authHeaders(extra: Record<string, string> = {}): Headers {
  const headers = new Headers(extra);
  const token = session.token();
  if (token) headers.set("authorization", `Bearer ${token}`);
  return headers;
}

export interface Answer<T> {
  status: number;
  body: T;
}

export async function request<T>(method: string, path: string, body?: unknown, token?: string): Promise<Answer<T>> {
  const headers = authHeaders({ accept: "application/json" });
  if (token) headers.set("authorization", `Bearer ${token}`);
  if (body !== undefined) headers.set("content-type", "application/json");
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { error: `HTTP ${res.status}`, text };
  }
  if (!res.ok) {
    const err = new ApiError(res.status, (parsed as Record<string, unknown>) ?? {});
    if (res.status === 401 && !token) onUnauthenticated();
    throw err;
  }
  return { status: res.status, body: parsed as T };
}

export const api = {
  get: async <T>(path: string) => (await request<T>("GET", path)).body,
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body),
  delete: <T>(path: string) => request<T>("DELETE", path),
};

/** `?a=1&b=2` of the given values, leaving out empty ones. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const repoPath = (owner: string, repo: string) => `/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
export const runPath = (id: string) => `/v1/runs/${encodeURIComponent(id)}`;
