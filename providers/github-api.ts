/**
 * The GitHub calls our dynamic resources make (the GitHub Pulumi provider cannot be built here: the Go module
 * proxy refuses its module path). GitHub is reached through GITHUB_API_URL, GITHUB_GRAPHQL_URL and GITHUB_TOKEN
 * in the environment of the Pulumi run, so the token never enters a stack's state. Every call goes through the
 * project's Octokit (lib/github-octokit.ts: rate limits waited out, 5xx retried), built per call in the
 * dynamic-provider process these functions are serialized into.
 */
import { createGitHubOctokit, githubClientOptionsFromEnv } from "../lib/github-octokit";

export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
    detail: string,
    /** GraphQL error types, e.g. NOT_FOUND. */
    readonly graphqlTypes: string[] = [],
  ) {
    const message = `GitHub ${operation} failed: HTTP ${status} ${detail}`;
    super(message);
    // Set again: serialized into the dynamic-provider process, the class's super() call no longer sets it on
    // this object, and Pulumi reports a provider's failure by its `message`.
    this.message = message;
    this.name = "GitHubApiError";
  }
}

interface OctokitFailure {
  status?: number;
  message: string;
  response?: { status?: number; data?: unknown };
}

/** Octokit's errors as ours: the call named, GitHub's message kept (it never carries the request or its token). */
function asApiError(err: unknown, operation: string): unknown {
  const failure = err as OctokitFailure;
  const status = failure.status ?? failure.response?.status;
  if (typeof status !== "number") return err;
  const data = failure.response?.data;
  const message =
    data && typeof data === "object" && typeof (data as { message?: unknown }).message === "string"
      ? (data as { message: string }).message
      : typeof data === "string" && data !== ""
        ? // GitHub's 5xx pages are HTML: their words are enough.
          data
            .replace(/<[^>]*>/g, " ")
            .replace(/\s+/g, " ")
            .trim()
            .slice(0, 300)
        : failure.message;
  return new GitHubApiError(status, operation, message);
}

/** One REST call; undefined for 404 when `allowNotFound`. */
export async function githubRest<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { allowNotFound?: boolean } = {},
): Promise<T | undefined> {
  const octokit = createGitHubOctokit(githubClientOptionsFromEnv());
  const operation = `${method} ${path}`;
  try {
    const res = await octokit.request(operation, body === undefined ? {} : { data: body });
    if (res.status === 204) return undefined;
    return res.data as T;
  } catch (err) {
    if (options.allowNotFound && (err as OctokitFailure).status === 404) return undefined;
    throw asApiError(err, operation);
  }
}

/** One GraphQL call; GraphQL errors become a GitHubApiError naming the operation. */
export async function githubGraphql<T>(operation: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const env = githubClientOptionsFromEnv();
  const url = process.env.GITHUB_GRAPHQL_URL || `${env.baseUrl}/graphql`;
  let body: { data?: T; errors?: { message: string; type?: string }[] };
  try {
    body = (await createGitHubOctokit(env).request(`POST ${url}`, { query, variables })).data as typeof body;
  } catch (err) {
    throw asApiError(err, operation);
  }
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
