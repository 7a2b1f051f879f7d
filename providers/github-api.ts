/**
 * The GitHub calls our dynamic resources make (the GitHub Pulumi provider cannot be built here: the Go module
 * proxy refuses its module path). GitHub is reached through GITHUB_API_URL, GITHUB_GRAPHQL_URL and GITHUB_TOKEN
 * in the environment of the Pulumi run, so the token never enters a stack's state. These functions use only
 * globals, because Pulumi serializes them into the dynamic-provider process.
 */

export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
    detail: string,
    /** GraphQL error types, e.g. NOT_FOUND. */
    readonly graphqlTypes: string[] = [],
  ) {
    super(`GitHub ${operation} failed: HTTP ${status} ${detail}`);
    this.name = "GitHubApiError";
  }
}

function githubEnv() {
  const token = process.env.GITHUB_TOKEN;
  if (!token) throw new Error("GITHUB_TOKEN must be set for GitHub resources");
  const api = (process.env.GITHUB_API_URL ?? "https://api.github.com").replace(/\/$/, "");
  const graphql = process.env.GITHUB_GRAPHQL_URL ?? `${api}/graphql`;
  return { token, api, graphql };
}

/** One REST call; undefined for 404 when `allowNotFound`. */
export async function githubRest<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { allowNotFound?: boolean } = {},
): Promise<T | undefined> {
  const env = githubEnv();
  const res = await fetch(`${env.api}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${env.token}`,
      Accept: "application/vnd.github+json",
      "X-GitHub-Api-Version": "2022-11-28",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 404 && options.allowNotFound) return undefined;
  if (!res.ok) {
    // GitHub's error bodies carry a message, never the request; safe to show.
    const text = await res.text();
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new GitHubApiError(res.status, `${method} ${path}`, message);
  }
  if (res.status === 204) return undefined;
  return (await res.json()) as T;
}

/** One GraphQL call; GraphQL errors become a GitHubApiError naming the operation. */
export async function githubGraphql<T>(operation: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const env = githubEnv();
  const res = await fetch(env.graphql, {
    method: "POST",
    headers: { Authorization: `Bearer ${env.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  if (!res.ok) throw new GitHubApiError(res.status, operation, (await res.text()).slice(0, 300));
  const body = (await res.json()) as { data?: T; errors?: { message: string; type?: string }[] };
  if (body.errors?.length) {
    throw new GitHubApiError(
      200,
      operation,
      body.errors.map((e) => e.message).join("; "),
      body.errors.map((e) => e.type ?? ""),
    );
  }
  return body.data as T;
}
