import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, waitForStatus } from "../../testkit/server";

test("an invalid onboarding request is refused with 400 and every issue names its field", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const res = await srv.request("/v1/onboardings", {
      method: "POST",
      json: { owner: "-acme", resources: { limits: { cpu: "lots" } }, namespace: "other", extra: 1 },
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string; issues: { field: string; message: string }[] };
    assert.equal(body.error, "invalid_request");
    const fields = Object.fromEntries(body.issues.map((i) => [i.field, i.message]));
    assert.match(fields.owner, /not a valid GitHub owner/);
    assert.equal(fields.repo, "required");
    assert.match(fields["resources.limits.cpu"], /Kubernetes quantity/);
    assert.equal(fields.namespace, "unknown field"); // the operator's, not a request's
    assert.equal(fields.extra, "unknown field");
    assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n, 0);
  } finally {
    await srv.close();
  }
});

test("bad LiteLLM settings are a 400 naming each field, and the OpenAPI document describes litellm and skipLiteLLM", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const res = await srv.request("/v1/onboardings", {
      method: "POST",
      json: {
        owner: "acme",
        repo: "widgets",
        skipLiteLLM: 1,
        litellm: { maxBudget: "lots", models: ["a"], defaultModel: "b", rotateKey: true },
      },
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { issues: { field: string; message: string }[] };
    const fields = Object.fromEntries(body.issues.map((i) => [i.field, i.message]));
    assert.deepEqual(Object.keys(fields).sort(), ["litellm.maxBudget", "litellm.rotateKey", "skipLiteLLM"]);
    assert.equal(fields["litellm.rotateKey"], "unknown field");
    const refused = await srv.request("/v1/onboardings", {
      method: "POST",
      json: { owner: "acme", repo: "widgets", litellm: { models: ["a"], defaultModel: "b" } },
    });
    assert.deepEqual(((await refused.json()) as { issues: unknown[] }).issues, [
      { field: "litellm.defaultModel", message: "must be one of litellm.models" },
    ]);
    assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n, 0);

    const doc = (await (await srv.request("/v1/openapi.json")).json()) as {
      components: { schemas: { OnboardingRequest: { properties: Record<string, { properties?: Record<string, unknown> }> } } };
    };
    const props = doc.components.schemas.OnboardingRequest.properties;
    assert.ok(props.skipLiteLLM, "skipLiteLLM is documented");
    assert.deepEqual(Object.keys(props.litellm.properties ?? {}).sort(), [
      "defaultModel",
      "maxBudget",
      "models",
      "rotateKeyNonce",
      "teamAlias",
    ]);
  } finally {
    await srv.close();
  }
});

test("malformed JSON is a 400 naming the body", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const res = await srv.request("/v1/onboardings", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: "invalid_request", issues: [{ field: "(body)", message: "malformed JSON" }] });
  } finally {
    await srv.close();
  }
});

test("the run is stored, queued, before the 202 leaves", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const res = await srv.request("/v1/onboardings", { method: "POST", json: { owner: "Acme", repo: "widgets", displayName: "Widgets" } });
    assert.equal(res.status, 202);
    const body = (await res.json()) as { runId: string; status: string; position: number; kind: string };
    assert.deepEqual({ status: body.status, position: body.position, kind: body.kind }, { status: "queued", position: 0, kind: "onboard" });
    assert.equal(res.headers.get("location"), `/v1/runs/${body.runId}`);
    const { rows } = await srv.db.pool.query("SELECT status, kind, stack_name, request FROM runs WHERE id = $1", [body.runId]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, "queued");
    assert.equal(rows[0].stack_name, "acme.widgets");
    // The request as the client wrote it: defaults stay the stack's, not pinned into the record.
    assert.deepEqual(rows[0].request, { owner: "Acme", repo: "widgets", displayName: "Widgets", serverUrl: srv.config.publicUrl });
    const events = await srv.db.pool.query("SELECT seq, type, data FROM run_events WHERE run_id = $1", [body.runId]);
    assert.deepEqual(events.rows, [{ seq: 1, type: "status", data: { status: "queued", kind: "onboard" } }]);
  } finally {
    await srv.close();
  }
});

test("the same Idempotency-Key with the same body returns the same run", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const key = { "Idempotency-Key": "onboard-acme-widgets-1" };
    const first = await onboard(srv, { owner: "acme", repo: "widgets", displayName: "W", skipAuth: true }, key);
    // Same request, keys in another order.
    const again = await onboard(srv, { skipAuth: true, displayName: "W", repo: "widgets", owner: "acme" }, key);
    assert.equal(first.status, 202);
    assert.equal(again.status, 200);
    assert.equal(again.runId, first.runId);
    assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n, 1);
  } finally {
    await srv.close();
  }
});

test("the same Idempotency-Key with a different body is refused with 422", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const key = { "Idempotency-Key": "k-1" };
    assert.equal((await onboard(srv, { owner: "acme", repo: "widgets" }, key)).status, 202);
    const other = await onboard(srv, { owner: "acme", repo: "gadgets" }, key);
    assert.equal(other.status, 422);
    assert.deepEqual(other.body, { error: "idempotency_key_reused" });
    assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM runs")).rows[0].n, 1);
  } finally {
    await srv.close();
  }
});

test("a repo already onboarded gets an update run, from a succeeded onboarding or a registry row", async () => {
  const srv = await startTestServer();
  try {
    const first = await onboard(srv, { owner: "acme", repo: "widgets" });
    assert.equal(first.body.kind, "onboard");
    await waitForStatus(srv, first.runId, "succeeded");
    assert.equal((await onboard(srv, { owner: "acme", repo: "widgets" })).body.kind, "update");

    // Onboarded from the CLI: only the stack's registry row says so.
    await srv.db.pool.query(
      `INSERT INTO repo_registry (full_name, owner, repo, stack_name, display_name, default_branch, webhook_secret_path, env_statefulset, env_namespace)
       VALUES ('acme/gadgets', 'acme', 'gadgets', 'acme.gadgets', 'gadgets', 'main', 'mesh-six/webhooks/repos/acme/gadgets', 'env-acme-gadgets', 'mesh-six')`,
    );
    assert.equal((await onboard(srv, { owner: "acme", repo: "gadgets" })).body.kind, "update");
  } finally {
    await srv.close();
  }
});

test("secret outputs are redacted in the run, its record and its events", async () => {
  const runner = new ScriptedRunner().on("acme.widgets", {
    outputs: { envPod: { value: "env-acme-widgets-0", secret: false }, webhookSecret: { value: "s3cr3t-value", secret: true } },
    changeSummary: { create: 7 },
  });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    const run = await waitForStatus(srv, runId, "succeeded");
    assert.deepEqual(run.outputs, { envPod: "env-acme-widgets-0", webhookSecret: "[secret]" });
    assert.deepEqual(run.changeSummary, { create: 7 });
    const stored = await srv.db.pool.query(
      "SELECT r.outputs::text AS outputs, (SELECT string_agg(data::text, ' ') FROM run_events WHERE run_id = r.id) AS events FROM runs r WHERE id = $1",
      [runId],
    );
    assert.doesNotMatch(stored.rows[0].outputs, /s3cr3t/);
    assert.doesNotMatch(stored.rows[0].events, /s3cr3t/);
  } finally {
    await srv.close();
  }
});

test("a failing run records the step it failed at and why", async () => {
  const runner = new ScriptedRunner().on("acme.widgets", { failAt: { step: "up", message: "kube-apiserver refused the StatefulSet" } });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    const run = await waitForStatus(srv, runId, "failed");
    assert.equal(run.failedStep, "up");
    assert.equal(run.failureReason, "kube-apiserver refused the StatefulSet");
    assert.ok(run.finishedAt);
  } finally {
    await srv.close();
  }
});
