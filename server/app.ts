import type { Server } from "node:http";
import express, { type Express } from "express";
import type { Pool } from "pg";
import { Dispatcher } from "../dispatch/dispatcher";
import { DriftScheduler, recordDriftCheck } from "../runs/drift";
import { RunQueue } from "../runs/queue";
import type { RepoValidator } from "../runs/validate";
import type { StackRunner } from "../pulumi/runner";
import { bearerAuth } from "./auth";
import { answerClientErrors } from "./client-errors";
import { DEFAULT_POD_READY_TIMEOUT_MS, type ServerConfig } from "./config";
import type { AppContext } from "./context";
import { errorHandler, notFoundHandler } from "./errors";
import { createMetrics, type ServerMetrics } from "./metrics";
import { buildOpenApi } from "./openapi";
import { keepRawBody } from "./raw-body";
import { mountRoutes, openPaths, type RouteSpec } from "./route-table";
import { healthRoutes } from "./routes/health";
import { onboardingRoutes } from "./routes/onboardings";
import { repoRoutes } from "./routes/repos";
import { runRoutes } from "./routes/runs";
import { DEFAULT_AGENT_STALE_MS, taskRoutes } from "./routes/tasks";
import { webhookRoutes } from "./routes/webhooks";
import { openApiDocumentBody } from "./schemas";
import { WebhookProcessor } from "./webhooks/processor";
import { WebhookSecretCache } from "./webhooks/secret-cache";
import { vaultKvReader } from "./webhooks/vault-kv";

export interface AppDeps {
  db: Pool;
  runner: StackRunner;
  config: ServerConfig;
  log?: (line: string) => void;
  /** The webhook secrets' cache; by default one over the Vault of `config.webhooks`. */
  webhookSecrets?: WebhookSecretCache;
  /** The `validate` step of onboardings and updates (runs/validate.ts); the server tests' scripted runs go without. */
  validate?: RepoValidator;
}

/** The Express app with the run queue it feeds; the caller starts the queue and listens. */
export type ServerApp = Express & {
  readonly queue: RunQueue;
  readonly metrics: ServerMetrics;
  readonly routes: readonly RouteSpec[];
  /** Processes webhook deliveries after they were acknowledged; `idle()` waits for those under way. */
  readonly webhooks: WebhookProcessor;
  /** Delivers tasks to agents; the caller starts and stops it with the queue. */
  readonly dispatcher: Dispatcher;
  /** Queues every onboarded repo's periodic drift check; the caller starts and stops it with the queue. */
  readonly drift: DriftScheduler;
  /** Marks the process as stopping: /readyz answers 503 draining from now on. */
  drain(): void;
};

const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

function webhookSecrets(deps: AppDeps): WebhookSecretCache | undefined {
  if (deps.webhookSecrets) return deps.webhookSecrets;
  const hooks = deps.config.webhooks;
  if (!hooks) return undefined;
  return new WebhookSecretCache({
    read: vaultKvReader({ addr: hooks.vaultAddr, token: hooks.vaultToken, mount: hooks.vaultMount }),
    ttlMs: hooks.secretTtlMs,
    fallbackSecret: hooks.fallbackSecret,
  });
}

const API_VERSION = "1.0.0";

export function createApp(deps: AppDeps): ServerApp {
  const log = deps.log ?? ((line: string) => console.error(line));
  const metrics = createMetrics(deps.db);
  const queue = new RunQueue({
    pool: deps.db,
    runner: deps.runner,
    concurrency: deps.config.runConcurrency,
    leaseMs: deps.config.runLeaseMs,
    pollMs: deps.config.pollMs,
    shutdownGraceMs: deps.config.runShutdownGraceMs,
    validate: deps.validate,
    postUp: {
      podReadyTimeoutMs: deps.config.podReadyTimeoutMs ?? DEFAULT_POD_READY_TIMEOUT_MS,
      deviceFlow: deps.config.deviceFlow,
      authServiceUrl: deps.config.authServiceUrl,
      deviceFlowSecondMs: deps.config.deviceFlowSecondMs,
    },
    onFinished: (run) => {
      metrics.runFinished(run);
      recordDriftCheck(deps.db, run).catch((err: Error) => log(`[drift] recording run ${run.id}: ${err.message}`));
    },
    log: (line) => log(`[queue] ${line}`),
  });
  const ctx: AppContext = { pool: deps.db, queue, config: deps.config, metrics, draining: false };
  const drift = new DriftScheduler({
    pool: deps.db,
    intervalMs: deps.config.driftCheckIntervalMs ?? 0,
    queued: () => queue.kick(),
    log: (line) => log(`[drift] ${line}`),
  });

  const dispatcher = new Dispatcher({
    pool: deps.db,
    agentStaleMs: deps.config.agentStaleMs ?? DEFAULT_AGENT_STALE_MS,
    leaseMs: deps.config.taskLeaseMs,
    pollMs: deps.config.pollMs,
    retryBaseMs: deps.config.taskRetryBaseMs,
    retryMaxMs: deps.config.taskRetryMaxMs,
    concurrency: deps.config.dispatchConcurrency,
    log: (line) => log(`[dispatch] ${line}`),
  });

  const webhooks = new WebhookProcessor(deps.db, metrics, (line) => log(`[webhooks] ${line}`));
  const receiver = {
    secrets: webhookSecrets(deps),
    processor: webhooks,
    maxBodyBytes: deps.config.webhooks?.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  };

  const routes: RouteSpec[] = [
    ...healthRoutes(ctx, log),
    ...onboardingRoutes(ctx),
    ...runRoutes(ctx),
    ...repoRoutes(ctx),
    ...taskRoutes(ctx, dispatcher),
    ...webhookRoutes(ctx, receiver, (line) => log(`[webhooks] ${line}`)),
  ];
  let document: unknown;
  routes.push({
    method: "get",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document",
    tag: "meta",
    auth: true,
    database: false,
    responses: { 200: { description: "The OpenAPI document", schema: openApiDocumentBody } },
    handler(_req, res) {
      document ??= buildOpenApi(routes, { version: API_VERSION, publicUrl: deps.config.publicUrl });
      res.json(document);
    },
  });

  const app = express();
  app.disable("x-powered-by");
  // Auth before any body is parsed; webhooks (later) must see their raw body, so JSON parsing is /v1's only.
  app.use(bearerAuth(deps.config.apiTokens, openPaths(routes)));
  // The raw text is kept so a task's payload can be stored and delivered as the client wrote it.
  app.use("/v1", express.json({ limit: "64kb", verify: keepRawBody }));
  mountRoutes(app, routes);
  app.use(notFoundHandler);
  app.use(errorHandler(log));
  const drain = () => {
    ctx.draining = true;
  };
  // Every server the app listens on answers the requests Node's parser refuses with JSON too.
  const listen = app.listen.bind(app) as (...args: unknown[]) => Server;
  const listenAnsweringClientErrors = (...args: unknown[]) => answerClientErrors(listen(...args));
  return Object.assign(app, {
    queue,
    metrics,
    routes,
    webhooks,
    dispatcher,
    drift,
    drain,
    listen: listenAnsweringClientErrors as Express["listen"],
  });
}
