import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { lintFromString, loadConfig } from "@redocly/openapi-core";
import { Pool } from "pg";
import { createApp } from "../../server/app";
import type { ServerConfig } from "../../server/config";
import { createMetrics } from "../../server/metrics";
import { createWorkers } from "../../server/workers";
import { quietLogger } from "../../testkit/log-capture";
import { ScriptedRunner } from "../../testkit/scripted-runner";

const TOKEN = "lint-token-0123456789abcdef";

/** The document exactly as GET /v1/openapi.json serves it; building it needs no database. */
async function servedDocument(config: Partial<ServerConfig> = {}): Promise<string> {
  const pool = new Pool({ connectionString: "postgresql://nobody@127.0.0.1:1/none" });
  const fullConfig: ServerConfig = {
    port: 0,
    apiTokens: [TOKEN],
    runConcurrency: 1,
    runLeaseMs: 1000,
    runShutdownGraceMs: 10,
    pollMs: 100,
    stateBackendUrl: "file:///nonexistent",
    publicUrl: "http://127.0.0.1:8080",
    ...config,
  };
  const metrics = createMetrics(pool);
  const log = quietLogger();
  const workers = createWorkers({ db: pool, runner: new ScriptedRunner(), config: fullConfig, metrics, log });
  const app = createApp({ db: pool, config: fullConfig, metrics, workers, log });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/openapi.json`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
    return await res.text();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pool.end();
  }
}

async function lint(source: string) {
  const config = await loadConfig({ configPath: path.join(__dirname, "..", "..", "redocly.yaml") });
  const problems = await lintFromString({ source, absoluteRef: path.join(__dirname, "openapi.json"), config });
  // The linter's own report, so a failure says which rule and where.
  const report = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location.map((l) => l.pointer).join(", ")}`);
  return { problems, report };
}

test("the served OpenAPI document lints clean with Redocly's recommended rules: no error, no warning", async () => {
  const { problems, report } = await lint(await servedDocument());
  assert.deepEqual(report, [], `${problems.length} problem(s)`);
});

test("with a public URL configured, the document's server is that URL and it still lints clean", async () => {
  const source = await servedDocument({ publicUrl: "https://mesh-six.example.org" });
  const doc = JSON.parse(source) as { servers?: { url: string }[] };
  assert.deepEqual(
    doc.servers?.map((s) => s.url),
    ["https://mesh-six.example.org"],
  );
  const { report } = await lint(source);
  assert.deepEqual(report, []);
});

test("the linter does catch a broken document (the lint test can fail)", async () => {
  const doc = JSON.parse(await servedDocument()) as { paths: Record<string, Record<string, { operationId?: string }>> };
  delete doc.paths["/healthz"].get.operationId;
  const { report } = await lint(JSON.stringify(doc));
  assert.ok(
    report.some((line) => line.includes("operation-operationId")),
    report.join("\n"),
  );
});
