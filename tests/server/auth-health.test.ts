import assert from "node:assert/strict";
import { test } from "node:test";
import { Pool } from "pg";
import { logMessages } from "../../testkit/log-capture";
import { onboard, startTestServer, waitForStatus } from "../../testkit/server";

test("a request without a bearer token, or with one not known here, is 401 with a challenge", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    for (const headers of [{}, { authorization: "Basic dXNlcjpwYXNz" }] as Record<string, string>[]) {
      const res = await srv.request("/v1/repos", { token: null, headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
      assert.deepEqual(await res.json(), { error: "unauthenticated" });
    }
    const wrong = await srv.request("/v1/repos", { token: "not-the-token" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.deepEqual(await wrong.json(), { error: "unauthenticated" });
    // Even a route that does not exist asks for a token first: no probing the API unauthenticated.
    assert.equal((await srv.request("/v1/nope", { token: null })).status, 401);
    assert.equal((await srv.request("/v1/nope")).status, 404);
    // Nothing was stored for a refused request.
    const refused = await srv.request("/v1/onboardings", { method: "POST", token: "wrong", json: { owner: "acme", repo: "widgets" } });
    assert.equal(refused.status, 401);
    assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n, 0);
  } finally {
    await srv.close();
  }
});

test("health, readiness, metrics and webhooks are served without a token", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const health = await srv.request("/healthz", { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await srv.request("/readyz", { token: null });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready", checks: { database: "ok", stateBackend: "ok" } });
    assert.equal((await srv.request("/metrics", { token: null })).status, 200);
    // The path is open: without Vault configured the answer is "not configured", not "unauthenticated".
    const hook = await srv.request("/webhooks/github/acme/widgets", { token: null, method: "POST" });
    assert.deepEqual([hook.status, await hook.json()], [503, { error: "webhooks_not_configured" }]);
  } finally {
    await srv.close();
  }
});

test("/metrics exposes the run, queue and webhook metrics", async () => {
  const srv = await startTestServer();
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await waitForStatus(srv, runId, "succeeded");
    const res = await srv.request("/metrics", { token: null });
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await res.text();
    for (const name of [
      "mesh_six_runs",
      "mesh_six_run_queue_depth",
      "mesh_six_runs_finished_total",
      "mesh_six_run_duration_seconds",
      "mesh_six_webhook_deliveries_total",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    assert.match(text, /^mesh_six_runs\{status="succeeded"\} 1$/m);
    assert.match(text, /^mesh_six_run_queue_depth 0$/m);
    assert.match(text, /^mesh_six_runs_finished_total\{kind="onboard",status="succeeded"\} 1$/m);
    assert.match(text, /^mesh_six_run_duration_seconds_count\{kind="onboard",status="succeeded"\} 1$/m);
  } finally {
    await srv.close();
  }
});

test("/readyz fails when the database is unreachable or the state directory is missing; requests that need the database get a 503 to retry", async () => {
  const unreachable = new Pool({ connectionString: "postgresql://nobody@127.0.0.1:1/none", connectionTimeoutMillis: 500 });
  unreachable.on("error", () => undefined);
  const srv = await startTestServer({
    startQueue: false,
    pool: unreachable,
    config: { stateBackendUrl: "file:///nonexistent/mesh-six-state" },
  });
  try {
    const res = await srv.request("/readyz", { token: null });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "not_ready", checks: { database: "failed", stateBackend: "failed" } });
    assert.equal((await srv.request("/healthz", { token: null })).status, 200, "the process itself is up");
    // A request that needs the database is told to come again, not that the server broke.
    for (const [pathname, init] of [
      ["/v1/repos", {}],
      ["/v1/onboardings", { method: "POST", json: { owner: "acme", repo: "widgets" } }],
    ] as const) {
      const res = await srv.request(pathname, init);
      assert.equal(res.status, 503, pathname);
      assert.equal(res.headers.get("retry-after"), "5");
      assert.deepEqual(await res.json(), { error: "database_unavailable" });
    }
    const faults = logMessages(srv.logs).filter((l) => /^(GET|POST) \/v1\//.test(l));
    assert.deepEqual(faults, [], "an outage is answered, not logged as a fault of the request");
  } finally {
    await srv.close();
    await unreachable.end();
  }
});

test("the OpenAPI document is served and lists every route the app serves", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const res = await srv.request("/v1/openapi.json");
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, "3.1.0");
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();

    // What Express actually routes, read from its router.
    const stack = (srv.app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router
      .stack;
    const served = stack
      .flatMap((layer) =>
        layer.route
          ? Object.keys(layer.route.methods)
              .filter((m) => m !== "_all")
              .map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, "{$1}")}`)
          : [],
      )
      .sort();
    assert.deepEqual(documented, served);
    for (const route of [
      "POST /v1/onboardings",
      "GET /v1/runs/{id}",
      "GET /v1/runs/{id}/events",
      "POST /v1/runs/{id}/cancel",
      "POST /v1/runs/{id}/auth",
      "POST /v1/repos/{owner}/{repo}/preview",
      "POST /v1/repos/{owner}/{repo}/refresh",
      "DELETE /v1/repos/{owner}/{repo}",
      "GET /v1/repos",
      "GET /v1/repos/{owner}/{repo}",
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",
      "GET /v1/openapi.json",
      "POST /v1/agents",
      "GET /v1/agents",
      "POST /v1/agents/{id}/heartbeat",
      "POST /v1/tasks",
      "GET /v1/tasks/{id}",
      "POST /v1/tasks/{id}/transition",
      "POST /v1/tasks/{id}/result",
      "POST /v1/tokens",
      "GET /v1/tokens",
      "DELETE /v1/tokens/{id}",
      "GET /v1/audit",
    ]) {
      assert.ok(documented.includes(route), `${route} is documented`);
    }
    assert.deepEqual(doc.paths["/healthz"].get.security, [], "open routes say so");
    const ops = doc.paths as unknown as Record<string, Record<string, Record<string, unknown>>>;
    const roleOf = (p: string, m: string) => [ops[p][m]["x-mesh-six-role"], ops[p][m]["x-mesh-six-agent"], ops[p][m].security];
    assert.deepEqual(roleOf("/healthz", "get"), ["public", undefined, []]);
    assert.deepEqual(roleOf("/v1/repos", "get"), ["viewer", undefined, [{ bearer: ["viewer", "operator", "admin"] }]]);
    assert.deepEqual(roleOf("/v1/repos/{owner}/{repo}", "delete"), ["admin", undefined, [{ bearer: ["admin"] }]]);
    assert.deepEqual(roleOf("/v1/tasks/{id}/transition", "post"), [
      "operator",
      "the agent the task's latest attempt was delivered to",
      [{ bearer: ["operator", "admin", "agent"] }],
    ]);
    assert.match(String(ops["/v1/tokens"].post.description), /role admin; any other token is answered 403/);
    assert.ok(doc.paths["/v1/onboardings"].post.responses["202"]);
    assert.ok(doc.components.schemas.OnboardingRequest && doc.components.schemas.Run);
    assert.ok(doc.components.schemas.AuthPushRequest, "the auth push body is described");
  } finally {
    await srv.close();
  }
});
