import { z } from "zod";

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
  /** How often an idle worker and an event stream look at the database for others' changes. */
  pollMs: number;
  /** The Pulumi state backend, checked by /readyz (PULUMI_BACKEND_URL, or the embedded file backend). */
  stateBackendUrl: string;
  /** The server's public base URL, given to repo stacks for their webhook (MESH_SIX_PUBLIC_URL). */
  publicUrl?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  MESH_SIX_API_TOKENS: z
    .string({ error: "must list at least one bearer token (comma-separated)" })
    .transform((v) => v.split(",").map((t) => t.trim()).filter(Boolean))
    .refine((tokens) => tokens.length > 0, "must list at least one bearer token (comma-separated)")
    .refine((tokens) => tokens.every((t) => t.length >= 16), "every token must have at least 16 characters"),
  MESH_SIX_RUN_CONCURRENCY: positiveInt.default(2),
  MESH_SIX_RUN_LEASE_MS: positiveInt.min(1000).default(30_000),
  MESH_SIX_RUN_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(20_000),
  MESH_SIX_POLL_MS: positiveInt.default(1000),
  MESH_SIX_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
});

export function loadServerConfig(env: NodeJS.ProcessEnv, stateBackendUrl: string): ServerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0] ?? "environment"), issue.message);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    apiTokens: e.MESH_SIX_API_TOKENS,
    runConcurrency: e.MESH_SIX_RUN_CONCURRENCY,
    runLeaseMs: e.MESH_SIX_RUN_LEASE_MS,
    runShutdownGraceMs: e.MESH_SIX_RUN_SHUTDOWN_GRACE_MS,
    pollMs: e.MESH_SIX_POLL_MS,
    stateBackendUrl,
    publicUrl: e.MESH_SIX_PUBLIC_URL,
  };
}
