import { z } from "zod";
import { ConfigError } from "../lib/config-error";
import type { DeviceFlowConfig } from "../clients/device-flow";
import { DEFAULT_AGENT_STALE_MS, DEFAULT_DISPATCH_CONCURRENCY } from "../dispatch/dispatcher";
import { DNS1123_LABEL } from "../domain/names";
import { DEFAULT_SHUTDOWN_GRACE_MS } from "../runs/queue";
import { publicBaseUrl } from "../domain/repo-config";

export { ConfigError };

/** What the server needs to know, already validated. `loadServerConfig` reads it from the environment. */
export interface ServerConfig {
  port: number;
  /** Bearer tokens accepted on the API (MESH_SIX_API_TOKENS, comma-separated). */
  apiTokens: string[];
  /** Most runs executing at once over all workers (MESH_SIX_RUN_CONCURRENCY). */
  runConcurrency: number;
  /** A run's lease; a worker silent for this long is presumed dead (MESH_SIX_RUN_LEASE_MS). */
  runLeaseMs: number;
  /** On shutdown, how long running runs may finish before they are aborted and handed back to the queue. */
  runShutdownGraceMs: number;
  /** After SIGTERM, how long /readyz answers draining before the listener closes (MESH_SIX_DRAIN_DELAY_MS, 0). */
  drainDelayMs?: number;
  /** How often an idle worker and an event stream look at the database for others' changes. */
  pollMs: number;
  /** The Pulumi state backend, checked by /readyz (PULUMI_BACKEND_URL, or the embedded file backend). */
  stateBackendUrl: string;
  /** The namespace the server runs in, where repo stacks go by default (MESH_SIX_NAMESPACE; unset: the repo config's default). */
  namespace?: string;
  /** The server's public base URL, given to repo stacks for their webhook (MESH_SIX_PUBLIC_URL; required). */
  publicUrl: string;
  /** The bucket of the repos' storage prefixes (MESH_SIX_S3_BUCKET, when MESH_SIX_S3_ENDPOINT is set). */
  storageBucket?: string;
  /** How long an onboarded repo's environment pod may take to be Ready (MESH_SIX_POD_READY_TIMEOUT_MS, 10 min). */
  podReadyTimeoutMs?: number;
  /**
   * The OAuth authorization server of the device flow (MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL,
   * MESH_SIX_OAUTH_TOKEN_URL, MESH_SIX_OAUTH_CLIENT_ID, MESH_SIX_OAUTH_SCOPE); without it the step is skipped.
   */
  deviceFlow?: DeviceFlowConfig;
  /** The auth service that keeps agents' credentials (MESH_SIX_AUTH_SERVICE_URL). */
  authServiceUrl?: string;
  /** Milliseconds per second of the device flow's intervals (tests only; 1000). */
  deviceFlowSecondMs?: number;
  /** An agent whose last heartbeat is older than this is not given tasks (MESH_SIX_AGENT_STALE_MS, 60 s). */
  agentStaleMs?: number;
  /** A task delivery's lease; a dispatcher silent for this long is presumed dead (MESH_SIX_TASK_LEASE_MS, 30 s). */
  taskLeaseMs?: number;
  /** Task retries wait a full-jitter backoff from this base (MESH_SIX_TASK_RETRY_BASE_MS, 1 s) up to a cap (60 s). */
  taskRetryBaseMs?: number;
  taskRetryMaxMs?: number;
  /** Most task deliveries in flight from this process (MESH_SIX_DISPATCH_CONCURRENCY, 32). */
  dispatchConcurrency?: number;
  /** A task's delivery budget when the request names none (4). */
  taskMaxAttempts?: number;
  /** How often every onboarded repo gets a drift check, a preview-only refresh (MESH_SIX_DRIFT_CHECK_INTERVAL_MS, 6 h; 0: never). */
  driftCheckIntervalMs?: number;
  /** The GitHub webhook receiver's settings; without Vault (VAULT_ADDR and VAULT_TOKEN) webhooks answer 503. */
  webhooks?: WebhookConfig;
  /** Where the repos' boards are written (GITHUB_TOKEN, GITHUB_GRAPHQL_URL or GITHUB_API_URL + /graphql); without it none is. */
  boards?: BoardsConfig;
  /** How long a notification's receiver may take to answer (MESH_SIX_NOTIFY_TIMEOUT_MS, 10 s). */
  notifyTimeoutMs?: number;
  /** Notification retries wait a full-jitter backoff from this base (MESH_SIX_NOTIFY_RETRY_BASE_MS, 1 s) up to a cap (5 min). */
  notifyRetryBaseMs?: number;
  notifyRetryMaxMs?: number;
  /** Most notifications in flight from this process (MESH_SIX_NOTIFY_CONCURRENCY, 8). */
  notifyConcurrency?: number;
}

export interface BoardsConfig {
  graphqlUrl: string;
  token: string;
  /** Board writes retry with a full-jitter backoff from this base (MESH_SIX_BOARD_RETRY_BASE_MS, 1 s) up to a cap (60 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface WebhookConfig {
  vaultAddr: string;
  vaultToken: string;
  /** KV v2 mount holding `mesh-six/webhooks/…` (MESH_SIX_VAULT_KV_MOUNT, default "secret"). */
  vaultMount: string;
  /** How long a secret read from Vault is trusted (MESH_SIX_WEBHOOK_SECRET_TTL_MS, default 5 minutes). */
  secretTtlMs: number;
  /**
   * Largest delivery accepted (MESH_SIX_WEBHOOK_MAX_BODY_BYTES, default 1 MiB). GitHub caps payloads at
   * 25 MB, but the events handled here are far smaller, and the body is held in memory until verified.
   */
  maxBodyBytes: number;
  /** A global secret accepted besides each repo's own (MESH_SIX_WEBHOOK_FALLBACK_SECRET); off unless set. */
  fallbackSecret?: string;
}

export const DEFAULT_POD_READY_TIMEOUT_MS = 10 * 60_000;
/** MESH_SIX_DRIFT_CHECK_INTERVAL_MS's default. */
export const DEFAULT_DRIFT_CHECK_INTERVAL_MS = 6 * 60 * 60_000;

const positiveInt = z.coerce.number().int().positive();
const namespaceVariable = z.string().regex(DNS1123_LABEL, "must be a Kubernetes namespace name").optional();

/** What a repo's stack input takes from the server's environment, whoever builds it (the API or the CLI). */
export interface OnboardingDefaults {
  /** MESH_SIX_PUBLIC_URL: every repo's serverUrl. */
  publicUrl: string;
  /** MESH_SIX_NAMESPACE: a repo's namespace unless its request names one. */
  namespace?: string;
  /** MESH_SIX_S3_BUCKET when MESH_SIX_S3_ENDPOINT is set: the bucket every repo's storage prefix is in; none: no prefixes. */
  storageBucket?: string;
}

const storageVariables = {
  MESH_SIX_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: "must be the S3 store's http(s) URL" }).optional(),
  MESH_SIX_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
    .default("mesh-six-artifacts"),
};

const defaultsSchema = z.object({ MESH_SIX_PUBLIC_URL: publicBaseUrl, MESH_SIX_NAMESPACE: namespaceVariable, ...storageVariables });

function storageBucketOf(e: { MESH_SIX_S3_ENDPOINT?: string; MESH_SIX_S3_BUCKET: string }): { storageBucket?: string } {
  return e.MESH_SIX_S3_ENDPOINT ? { storageBucket: e.MESH_SIX_S3_BUCKET } : {};
}

/** The onboarding defaults alone, validated exactly as loadServerConfig validates them (for the CLI). */
export function loadOnboardingDefaults(env: NodeJS.ProcessEnv): OnboardingDefaults {
  const e = parseEnv(defaultsSchema, env);
  return { publicUrl: e.MESH_SIX_PUBLIC_URL, ...(e.MESH_SIX_NAMESPACE ? { namespace: e.MESH_SIX_NAMESPACE } : {}), ...storageBucketOf(e) };
}

function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(String(issue.path[0] ?? "environment"), issue.message);
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  MESH_SIX_API_TOKENS: z
    .string({ error: "must list at least one bearer token (comma-separated)" })
    .transform((v) =>
      v
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .refine((tokens) => tokens.length > 0, "must list at least one bearer token (comma-separated)")
    .refine((tokens) => tokens.every((t) => t.length >= 16), "every token must have at least 16 characters"),
  MESH_SIX_RUN_CONCURRENCY: positiveInt.default(2),
  MESH_SIX_RUN_LEASE_MS: positiveInt.min(1000).default(30_000),
  MESH_SIX_RUN_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(DEFAULT_SHUTDOWN_GRACE_MS),
  MESH_SIX_POLL_MS: positiveInt.default(1000),
  MESH_SIX_DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  MESH_SIX_NAMESPACE: namespaceVariable,
  ...storageVariables,
  // Repo webhooks point here and the policy pack refuses one GitHub could not reach safely: no default can be right.
  MESH_SIX_PUBLIC_URL: publicBaseUrl,
  MESH_SIX_POD_READY_TIMEOUT_MS: positiveInt.default(DEFAULT_POD_READY_TIMEOUT_MS),
  MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL: z.url({ protocol: /^https?$/ }).optional(),
  MESH_SIX_OAUTH_TOKEN_URL: z.url({ protocol: /^https?$/ }).optional(),
  MESH_SIX_OAUTH_CLIENT_ID: z.string().min(1).optional(),
  MESH_SIX_OAUTH_SCOPE: z.string().min(1).optional(),
  MESH_SIX_AUTH_SERVICE_URL: z.url({ protocol: /^https?$/ }).optional(),
  VAULT_ADDR: z.url({ protocol: /^https?$/ }).optional(),
  VAULT_TOKEN: z.string().min(1).optional(),
  MESH_SIX_VAULT_KV_MOUNT: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/)
    .default("secret"),
  MESH_SIX_WEBHOOK_SECRET_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5 * 60_000),
  MESH_SIX_WEBHOOK_MAX_BODY_BYTES: positiveInt.max(25 * 1024 * 1024).default(1024 * 1024),
  MESH_SIX_AGENT_STALE_MS: positiveInt.default(DEFAULT_AGENT_STALE_MS),
  MESH_SIX_TASK_LEASE_MS: positiveInt.min(1000).default(30_000),
  MESH_SIX_TASK_RETRY_BASE_MS: positiveInt.default(1000),
  MESH_SIX_TASK_RETRY_MAX_MS: positiveInt.default(60_000),
  MESH_SIX_DISPATCH_CONCURRENCY: positiveInt.max(256).default(DEFAULT_DISPATCH_CONCURRENCY),
  MESH_SIX_DRIFT_CHECK_INTERVAL_MS: z.coerce.number().int().min(0).default(DEFAULT_DRIFT_CHECK_INTERVAL_MS),
  MESH_SIX_WEBHOOK_FALLBACK_SECRET: z.string().min(16, "must have at least 16 characters").optional(),
  // Empty counts as unset, as it did before the server read it.
  GITHUB_TOKEN: z.string().optional(),
  GITHUB_API_URL: z.url({ protocol: /^https?$/ }).default("https://api.github.com"),
  GITHUB_GRAPHQL_URL: z.url({ protocol: /^https?$/ }).optional(),
  MESH_SIX_BOARD_RETRY_BASE_MS: positiveInt.default(1000),
  MESH_SIX_BOARD_RETRY_MAX_MS: positiveInt.default(60_000),
  MESH_SIX_NOTIFY_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  MESH_SIX_NOTIFY_RETRY_BASE_MS: positiveInt.default(1000),
  MESH_SIX_NOTIFY_RETRY_MAX_MS: positiveInt.default(5 * 60_000),
  MESH_SIX_NOTIFY_CONCURRENCY: positiveInt.max(256).default(8),
});

// GitHub Enterprise Server serves REST under /api/v3 and GraphQL at /api/graphql; github.com at /graphql.
function graphqlUrlOf(apiUrl: string): string {
  const base = apiUrl.replace(/\/$/, "");
  return /\/api\/v3$/.test(base) ? base.replace(/\/api\/v3$/, "/api/graphql") : `${base}/graphql`;
}

function boardsOf(e: z.output<typeof envSchema>): BoardsConfig | undefined {
  if (!e.GITHUB_TOKEN) return undefined;
  return {
    graphqlUrl: e.GITHUB_GRAPHQL_URL ?? graphqlUrlOf(e.GITHUB_API_URL),
    token: e.GITHUB_TOKEN,
    retryBaseMs: e.MESH_SIX_BOARD_RETRY_BASE_MS,
    retryMaxMs: e.MESH_SIX_BOARD_RETRY_MAX_MS,
  };
}

function webhooksOf(e: z.output<typeof envSchema>): WebhookConfig | undefined {
  if (!e.VAULT_ADDR || !e.VAULT_TOKEN) return undefined;
  return {
    vaultAddr: e.VAULT_ADDR,
    vaultToken: e.VAULT_TOKEN,
    vaultMount: e.MESH_SIX_VAULT_KV_MOUNT,
    secretTtlMs: e.MESH_SIX_WEBHOOK_SECRET_TTL_MS,
    maxBodyBytes: e.MESH_SIX_WEBHOOK_MAX_BODY_BYTES,
    fallbackSecret: e.MESH_SIX_WEBHOOK_FALLBACK_SECRET,
  };
}

const OAUTH_VARIABLES = ["MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL", "MESH_SIX_OAUTH_TOKEN_URL", "MESH_SIX_OAUTH_CLIENT_ID"] as const;

// The device flow is all or nothing: half a configuration is a mistake, not a reason to skip the step.
function deviceFlowOf(e: z.output<typeof envSchema>): DeviceFlowConfig | undefined {
  const given = OAUTH_VARIABLES.filter((v) => e[v] !== undefined);
  if (given.length === 0) return undefined;
  const missing = OAUTH_VARIABLES.find((v) => e[v] === undefined);
  if (missing) throw new ConfigError(missing, `required with ${given.join(", ")}`);
  if (!e.MESH_SIX_AUTH_SERVICE_URL)
    throw new ConfigError("MESH_SIX_AUTH_SERVICE_URL", "required with the OAuth device flow (credentials go there)");
  return {
    deviceAuthorizationUrl: e.MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL!,
    tokenUrl: e.MESH_SIX_OAUTH_TOKEN_URL!,
    clientId: e.MESH_SIX_OAUTH_CLIENT_ID!,
    scope: e.MESH_SIX_OAUTH_SCOPE,
  };
}

export function loadServerConfig(env: NodeJS.ProcessEnv, stateBackendUrl: string): ServerConfig {
  // Inside a pod (the kubelet sets KUBERNETES_SERVICE_HOST) the embedded database and file backend would live on
  // the pod's ephemeral disk and be gone with it.
  if (env.KUBERNETES_SERVICE_HOST && !env.DATABASE_URL) {
    throw new ConfigError(
      "DATABASE_URL",
      "required in a cluster: without it the server would keep every run and stack on the pod's ephemeral disk",
    );
  }
  const e = parseEnv(envSchema, env);
  return {
    port: e.PORT,
    apiTokens: e.MESH_SIX_API_TOKENS,
    runConcurrency: e.MESH_SIX_RUN_CONCURRENCY,
    runLeaseMs: e.MESH_SIX_RUN_LEASE_MS,
    runShutdownGraceMs: e.MESH_SIX_RUN_SHUTDOWN_GRACE_MS,
    pollMs: e.MESH_SIX_POLL_MS,
    drainDelayMs: e.MESH_SIX_DRAIN_DELAY_MS,
    stateBackendUrl,
    namespace: e.MESH_SIX_NAMESPACE,
    publicUrl: e.MESH_SIX_PUBLIC_URL,
    ...storageBucketOf(e),
    podReadyTimeoutMs: e.MESH_SIX_POD_READY_TIMEOUT_MS,
    deviceFlow: deviceFlowOf(e),
    authServiceUrl: e.MESH_SIX_AUTH_SERVICE_URL,
    webhooks: webhooksOf(e),
    ...(e.GITHUB_TOKEN ? { boards: boardsOf(e) } : {}),
    agentStaleMs: e.MESH_SIX_AGENT_STALE_MS,
    taskLeaseMs: e.MESH_SIX_TASK_LEASE_MS,
    taskRetryBaseMs: e.MESH_SIX_TASK_RETRY_BASE_MS,
    taskRetryMaxMs: e.MESH_SIX_TASK_RETRY_MAX_MS,
    dispatchConcurrency: e.MESH_SIX_DISPATCH_CONCURRENCY,
    driftCheckIntervalMs: e.MESH_SIX_DRIFT_CHECK_INTERVAL_MS,
    notifyTimeoutMs: e.MESH_SIX_NOTIFY_TIMEOUT_MS,
    notifyRetryBaseMs: e.MESH_SIX_NOTIFY_RETRY_BASE_MS,
    notifyRetryMaxMs: e.MESH_SIX_NOTIFY_RETRY_MAX_MS,
    notifyConcurrency: e.MESH_SIX_NOTIFY_CONCURRENCY,
  };
}

/** The values of the configuration that are secrets: the logger redacts each wherever it appears. */
export function configSecrets(config: ServerConfig): string[] {
  const secrets = [...config.apiTokens];
  if (config.webhooks)
    secrets.push(config.webhooks.vaultToken, ...(config.webhooks.fallbackSecret ? [config.webhooks.fallbackSecret] : []));
  secrets.push(...urlPasswords(config.stateBackendUrl));
  return secrets;
}

/** The password of a URL (decoded, as it would be printed), if it has one. */
export function urlPasswords(url: string | undefined): string[] {
  try {
    const password = url ? new URL(url).password : "";
    return password ? [...new Set([password, decodeURIComponent(password)])] : [];
  } catch {
    return [];
  }
}
