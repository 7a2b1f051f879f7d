import type { Server } from "node:http";
import express, { type Express } from "express";
import type { Pool } from "pg";
import { defaultLogger, type Logger } from "../lib/logger";
import { auditMutations } from "./audit";
import { DASHBOARD_PATH, dashboardRouter } from "./dashboard";
import { authenticate, authorizedOnly, authorizeRoutes } from "./auth";
import { answerClientErrors } from "./client-errors";
import type { ServerConfig } from "./config";
import type { AppContext } from "./context";
import { errorHandler, notFoundHandler } from "./errors";
import type { ServerMetrics } from "./metrics";
import { buildOpenApi } from "./openapi";
import { mcpRouter } from "./mcp/http";
import { keepRawBody } from "./raw-body";
import { mountRoutes, openPaths, type RouteSpec } from "./route-table";
import { auditRoutes } from "./routes/audit";
import { healthRoutes } from "./routes/health";
import { historyRoutes } from "./routes/history";
import { onboardingRoutes } from "./routes/onboardings";
import { repoRoutes } from "./routes/repos";
import { runRoutes } from "./routes/runs";
import { subscriptionRoutes } from "./routes/subscriptions";
import { taskRoutes } from "./routes/tasks";
import { tokenRoutes } from "./routes/tokens";
import { webhookRoutes } from "./routes/webhooks";
import { openApiDocumentBody } from "./schemas";
import { WebhookSecretCache } from "./webhooks/secret-cache";
import { DeliveryWriter } from "./webhooks/delivery-writer";
import { vaultKvReader } from "./webhooks/vault-kv";
import type { Workers } from "./workers";

export interface AppDeps {
  db: Pool;
  config: ServerConfig;
  metrics: ServerMetrics;
  /** Built by the caller (server/workers.ts), which also starts and stops them. */
  workers: Workers;
  /** The process's root logger; each part logs through a child naming it (`component`). */
  log?: Logger;
  /** The webhook secrets' cache; by default one over the Vault of `config.webhooks`. */
  webhookSecrets?: WebhookSecretCache;
}

/** The Express app, with the workers it was given; the caller starts them and listens. */
export type ServerApp = Express &
  Readonly<Workers> & {
    readonly metrics: ServerMetrics;
    readonly routes: readonly RouteSpec[];
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
  const log = deps.log ?? defaultLogger();
  const { metrics, workers } = deps;
  const { queue, dispatcher, webhooks } = workers;
  const ctx: AppContext = { pool: deps.db, queue, config: deps.config, metrics, log: log.child({ component: "http" }), draining: false };
  const receiver = {
    secrets: webhookSecrets(deps),
    processor: webhooks,
    rules: workers.repoRules,
    writer: new DeliveryWriter(deps.db),
    maxBodyBytes: deps.config.webhooks?.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  };

  // Express tries the routes in this order, in the authorization router and again in the app: GitHub's deliveries,
  // the most frequent requests, are matched first.
  const routes: RouteSpec[] = [
    ...webhookRoutes(ctx, receiver, log.child({ component: "webhooks" })),
    ...healthRoutes(ctx, ctx.log),
    ...onboardingRoutes(ctx),
    ...runRoutes(ctx),
    ...repoRoutes(ctx),
    ...taskRoutes(ctx, dispatcher),
    ...tokenRoutes(ctx),
    ...subscriptionRoutes(ctx),
    ...auditRoutes(ctx),
    ...historyRoutes(ctx),
  ];
  let document: unknown;
  routes.push({
    method: "get",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document",
    tag: "meta",
    role: "viewer",
    database: false,
    responses: { 200: { description: "The OpenAPI document", schema: openApiDocumentBody } },
    handler(_req, res) {
      document ??= buildOpenApi(routes, { version: API_VERSION, publicUrl: deps.config.publicUrl });
      res.json(document);
    },
  });

  const app = express();
  app.disable("x-powered-by");
  // Static files before auth: the dashboard's page carries no data; what it shows comes from /v1 with the user's token.
  app.use(DASHBOARD_PATH, dashboardRouter());
  // Auth before any body is parsed; webhooks (later) must see their raw body, so JSON parsing is /v1's only.
  app.use(
    authenticate({
      configured: deps.config.apiTokens,
      pool: deps.db,
      openPaths: openPaths(routes),
      onAuthenticated: auditMutations(deps.db, log.child({ component: "audit" })),
    }),
  );
  app.use(authorizeRoutes(routes));
  // The raw text is kept so a task's payload can be stored and delivered as the client wrote it.
  app.use("/v1", express.json({ limit: "64kb", verify: keepRawBody }));
  mountRoutes(app, routes, [authorizedOnly]);
  // The MCP tools: no route of the table, each tool one request to the routes above (server/mcp/).
  app.use(mcpRouter());
  app.use(notFoundHandler);
  app.use(errorHandler(ctx.log));
  const drain = () => {
    ctx.draining = true;
  };
  // Every server the app listens on answers the requests Node's parser refuses with JSON too.
  const listen = app.listen.bind(app) as (...args: unknown[]) => Server;
  const listenAnsweringClientErrors = (...args: unknown[]) => answerClientErrors(listen(...args));
  return Object.assign(app, {
    ...workers,
    metrics,
    routes,
    drain,
    listen: listenAnsweringClientErrors as Express["listen"],
  });
}
