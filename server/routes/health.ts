import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { Client } from "pg";
import { fileBackendDir } from "../../pulumi/state-store";
import type { Logger } from "../../lib/logger";
import type { AppContext } from "../context";
import type { RouteSpec } from "../route-table";
import { healthBody, metricsBody, readyBody } from "../schemas";

const CHECK_TIMEOUT_MS = 3000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function checkStateBackend(url: string): Promise<string> {
  if (url.startsWith("postgres://")) return checkPostgresBackend(url);
  if (!url.startsWith("file://")) return "not checked (remote backend)";
  const dir = fileBackendDir(url);
  if (!(await stat(dir)).isDirectory()) throw new Error("not a directory");
  await access(dir, constants.W_OK);
  return "ok";
}

// The same connection the CLI makes, less the backend's own `table` parameter, which PostgreSQL would refuse.
async function checkPostgresBackend(url: string): Promise<string> {
  const u = new URL(url);
  u.searchParams.delete("table");
  const client = new Client({ connectionString: u.toString(), connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return "ok";
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function healthRoutes(ctx: AppContext, log: Logger): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/healthz",
      operationId: "health",
      summary: "The process is up",
      tag: "health",
      role: "public",
      responses: { 200: { description: "Up", schema: healthBody } },
      handler(_req, res) {
        res.json({ status: "ok" });
      },
    },
    {
      method: "get",
      path: "/readyz",
      operationId: "ready",
      summary: "The database answers and the Pulumi state backend is usable",
      tag: "health",
      role: "public",
      responses: {
        200: { description: "Ready", schema: readyBody },
        503: { description: "Not ready; `checks` says which dependency failed", schema: readyBody },
      },
      async handler(_req, res) {
        if (ctx.draining) {
          res.status(503).json({ status: "draining", checks: {} });
          return;
        }
        const checks: Record<string, string> = {};
        let ready = true;
        // Probe answers are public: they say what failed, the log says why.
        const check = async (name: string, run: () => Promise<string>) => {
          try {
            checks[name] = await withTimeout(run(), name);
          } catch (err) {
            ready = false;
            checks[name] = "failed";
            log.warn(`readyz: ${name}: ${(err as Error).message}`);
          }
        };
        await Promise.all([
          check("database", async () => {
            await ctx.pool.query("SELECT 1");
            return "ok";
          }),
          check("stateBackend", () => checkStateBackend(ctx.config.stateBackendUrl)),
        ]);
        res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not_ready", checks });
      },
    },
    {
      method: "get",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics",
      tag: "health",
      role: "public",
      responses: { 200: { description: "Prometheus text exposition format", schema: metricsBody, contentType: "text/plain" } },
      async handler(_req, res) {
        const body = await ctx.metrics.registry.metrics();
        res.setHeader("Content-Type", ctx.metrics.registry.contentType);
        res.send(body);
      },
    },
  ];
}
