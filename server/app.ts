import express, { type Express } from "express";
import type { Pool } from "pg";
import { RunQueue } from "../automation/queue";
import type { StackRunner } from "../automation/runner";
import { bearerAuth } from "./auth";
import type { ServerConfig } from "./config";
import type { AppContext } from "./context";
import { errorHandler, notFoundHandler } from "./errors";
import { createMetrics, type ServerMetrics } from "./metrics";
import { buildOpenApi } from "./openapi";
import { mountRoutes, openPaths, type RouteSpec } from "./route-table";
import { healthRoutes } from "./routes/health";
import { onboardingRoutes } from "./routes/onboardings";
import { repoRoutes } from "./routes/repos";
import { runRoutes } from "./routes/runs";

export interface AppDeps {
  db: Pool;
  runner: StackRunner;
  config: ServerConfig;
  log?: (line: string) => void;
}

/** The Express app with the run queue it feeds; the caller starts the queue and listens. */
export type ServerApp = Express & { readonly queue: RunQueue; readonly metrics: ServerMetrics; readonly routes: readonly RouteSpec[] };

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
    onFinished: (run) => metrics.runFinished(run),
    log: (line) => log(`[queue] ${line}`),
  });
  const ctx: AppContext = { pool: deps.db, queue, config: deps.config, metrics };

  const routes: RouteSpec[] = [...healthRoutes(ctx, log), ...onboardingRoutes(ctx), ...runRoutes(ctx), ...repoRoutes(ctx)];
  let document: unknown;
  routes.push({
    method: "get",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document",
    tag: "meta",
    auth: true,
    responses: { 200: { description: "The OpenAPI document" } },
    handler(_req, res) {
      document ??= buildOpenApi(routes, { version: API_VERSION });
      res.json(document);
    },
  });

  const app = express();
  app.disable("x-powered-by");
  // Auth before any body is parsed; webhooks (later) must see their raw body, so JSON parsing is /v1's only.
  app.use(bearerAuth(deps.config.apiTokens, openPaths(routes)));
  app.use("/v1", express.json({ limit: "64kb" }));
  mountRoutes(app, routes);
  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return Object.assign(app, { queue, metrics, routes });
}
