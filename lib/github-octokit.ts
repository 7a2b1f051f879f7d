import type { Octokit } from "@octokit/rest";

/**
 * The one way this project builds a GitHub client: Octokit with GitHub's rate limits honoured (the throttling
 * plugin waits for x-ratelimit-reset or Retry-After, within a bound) and server errors retried with backoff
 * (the retry plugin). The packages are required when a client is built, not imported: the dynamic providers'
 * functions are serialized into Pulumi's provider process, where a captured module would not survive but a
 * `require` resolves from the project's node_modules.
 */
export interface GitHubClientOptions {
  token: string;
  /** The REST API's root, e.g. https://api.github.com (GITHUB_API_URL). */
  baseUrl: string;
  /** The longest wait for a rate limit that is still worth it; beyond it the call fails (MESH_SIX_GITHUB_MAX_WAIT_S). */
  maxWaitSeconds?: number;
  /** Retries of a rate-limited call, and of a 5xx answer (MESH_SIX_GITHUB_RETRIES). */
  retries?: number;
  /** The 5xx backoff's unit: retry n waits n² units (MESH_SIX_GITHUB_RETRY_BASE_MS). */
  retryBaseMs?: number;
  /**
   * The least time between two writes (POST, PATCH, PUT, DELETE, GraphQL) of this process, in ms
   * (MESH_SIX_GITHUB_WRITE_INTERVAL_MS). GitHub asks for one second between mutating calls, the throttling
   * plugin's default; a GitHub without secondary limits (the sandbox's emulator) may take less.
   */
  writeIntervalMs?: number;
  /** Where waits for rate limits are reported; never given the token. */
  log?: (line: string) => void;
}

const DEFAULT_MAX_WAIT_SECONDS = 120;
const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_BASE_MS = 1_000;

function numberFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  return n;
}

/** The client's settings from GITHUB_TOKEN, GITHUB_API_URL and the MESH_SIX_GITHUB_* bounds. */
export function githubClientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubClientOptions {
  const token = env.GITHUB_TOKEN;
  if (!token) throw new Error("GITHUB_TOKEN must be set to reach GitHub");
  return {
    token,
    baseUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/$/, ""),
    maxWaitSeconds: numberFrom(env, "MESH_SIX_GITHUB_MAX_WAIT_S"),
    retries: numberFrom(env, "MESH_SIX_GITHUB_RETRIES"),
    retryBaseMs: numberFrom(env, "MESH_SIX_GITHUB_RETRY_BASE_MS"),
    writeIntervalMs: numberFrom(env, "MESH_SIX_GITHUB_WRITE_INTERVAL_MS"),
  };
}

interface WriteGroups {
  write: unknown;
  notifications: unknown;
}

// One limiter per interval and process, as the plugin keeps its own: every client of the process shares the spacing.
// A plain object, not a Map: Pulumi serializes what a dynamic provider's function captures, and a Map does not survive.
const writeGroups: Record<string, WriteGroups> = {};

/** The plugin's write and notification groups with the given spacing (its own settings otherwise). */
function spacedWriteGroups(intervalMs: number): WriteGroups {
  let groups = writeGroups[intervalMs];
  if (!groups) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see below: runs in the dynamic-provider process too
    const Bottleneck = require("bottleneck/light") as typeof import("bottleneck").default;
    const timeout = 120_000;
    groups = {
      write: new Bottleneck.Group({ id: `octokit-write-${intervalMs}`, maxConcurrent: 1, minTime: intervalMs, timeout }),
      // GitHub's notification-raising writes (comments, issues) are spaced three times as far apart.
      notifications: new Bottleneck.Group({
        id: `octokit-notifications-${intervalMs}`,
        maxConcurrent: 1,
        minTime: 3 * intervalMs,
        timeout,
      }),
    };
    writeGroups[intervalMs] = groups;
  }
  return groups;
}

export function createGitHubOctokit(options: GitHubClientOptions): Octokit {
  /* eslint-disable @typescript-eslint/no-require-imports -- see above: these run in the dynamic-provider process too */
  const { Octokit: Base } = require("@octokit/rest") as typeof import("@octokit/rest");
  const { throttling } = require("@octokit/plugin-throttling") as typeof import("@octokit/plugin-throttling");
  const { retry } = require("@octokit/plugin-retry") as typeof import("@octokit/plugin-retry");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const maxWait = options.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const log = options.log ?? (() => undefined);
  const waitFor =
    (what: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
      const call = `${request.method} ${request.url}`;
      if (retryCount >= retries || retryAfter > maxWait) {
        log(`GitHub ${what} on ${call}: not waiting ${retryAfter}s (retry ${retryCount + 1}, at most ${retries} of ${maxWait}s each)`);
        return false;
      }
      log(`GitHub ${what} on ${call}: retrying after ${retryAfter}s`);
      return true;
    };
  const Client = Base.plugin(throttling, retry);
  return new Client({
    auth: options.token,
    baseUrl: options.baseUrl,
    userAgent: "mesh-six-infra",
    log: { debug: () => undefined, info: () => undefined, warn: log, error: log },
    throttle: {
      onRateLimit: waitFor("rate limit"),
      onSecondaryRateLimit: waitFor("secondary rate limit"),
      ...(options.writeIntervalMs === undefined ? {} : spacedWriteGroups(options.writeIntervalMs)),
    },
    // 429 is a rate limit: the throttling plugin waits as GitHub says rather than backing off blindly.
    retry: {
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
      retries,
      retryAfterBaseValue: options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
    },
  }) as Octokit;
}
