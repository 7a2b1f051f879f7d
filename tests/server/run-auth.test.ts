import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { type AuthorizationServer, type AuthService, startAuthorizationServer, startAuthService } from "../../testkit/oauth-server";
import { getRunBody, onboard, readEventStream, startTestServer, type TestServer, waitForStatus } from "../../testkit/server";

const REPO = { owner: "acme", repo: "widgets", authProjectId: "proj-1" };
const PUSHED = {
  access_token: "pushed-access-token",
  token_type: "Bearer",
  expires_in: 3600,
  refresh_token: "pushed-refresh-token",
  scope: "repo",
};

interface AuthRunView {
  status: string;
  step: string | null;
  auth: { verificationUri: string; verificationUriComplete?: string; userCode: string; expiresAt: string } | null;
  failedStep: string | null;
  failureReason: string | null;
}

async function withDeviceFlow(
  fn: (ctx: { srv: TestServer; as: AuthorizationServer; service: AuthService }) => Promise<void>,
  opts: { runner?: ScriptedRunner; runConcurrency?: number } = {},
): Promise<void> {
  const as = await startAuthorizationServer();
  const service = await startAuthService();
  const srv = await startTestServer({
    runner: opts.runner,
    config: { deviceFlow: as.config, authServiceUrl: service.url, deviceFlowSecondMs: 10, runConcurrency: opts.runConcurrency ?? 2 },
  });
  try {
    await fn({ srv, as, service });
  } finally {
    await srv.close();
    await service.close();
    await as.close();
  }
}

async function view(srv: TestServer, id: string): Promise<AuthRunView> {
  return (await getRunBody(srv, id)) as unknown as AuthRunView;
}

async function eventSummary(srv: TestServer, id: string): Promise<{ summary: string[]; raw: string }> {
  const events = await readEventStream(await srv.request(`/v1/runs/${id}/events`));
  const summary = events.map((e) => {
    const data = JSON.parse(e.data) as { data: Record<string, unknown> };
    if (e.event === "status") return `status:${String(data.data.status)}`;
    if (e.event === "step") return `step:${String(data.data.step)}${data.data.skipped ? " (skipped)" : ""}`;
    return e.event ?? "";
  });
  return { summary, raw: events.map((e) => e.data).join("\n") };
}

test("a run waits for auth showing the user code, and credentials pushed through POST /v1/runs/:id/auth finish it", async () => {
  await withDeviceFlow(async ({ srv, service }) => {
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "waiting-for-auth");
    const waiting = await view(srv, runId);
    assert.equal(waiting.step, "auth");
    assert.match(waiting.auth?.userCode ?? "", /^[A-Z]{4}-[A-Z]{4}$/);
    assert.match(waiting.auth?.verificationUri ?? "", /^http:\/\/127\.0\.0\.1:\d+\/device$/);
    assert.ok(Date.parse(waiting.auth?.expiresAt ?? "") > Date.now());
    const raw = JSON.stringify(await (await srv.request(`/v1/runs/${runId}`)).json());
    assert.doesNotMatch(raw, /device_?code/i, "the device code is never shown");

    const res = await srv.request(`/v1/runs/${runId}/auth`, { method: "POST", json: PUSHED });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { runId, status: "waiting-for-auth", authReceived: true });
    const done = (await waitForStatus(srv, runId, "succeeded")) as unknown as AuthRunView;
    assert.equal(done.auth, null, "the prompt is gone once the wait is over");

    assert.equal(service.received.length, 1);
    assert.equal(service.received[0].path, "POST /projects/proj-1/credentials");
    assert.deepEqual(service.received[0].body.token, PUSHED);
    const { summary, raw: events } = await eventSummary(srv, runId);
    assert.deepEqual(summary, [
      "status:queued",
      "status:running",
      "step:select-stack",
      "step:up",
      "step:pod-health (skipped)",
      "step:auth",
      "status:waiting-for-auth",
      "auth-received",
      "log",
      "status:running",
      "status:succeeded",
    ]);
    assert.ok(!events.includes("pushed-access-token") && !events.includes("pushed-refresh-token"), "no token in the event log");
    const row = await srv.db.pool.query("SELECT to_jsonb(runs)::text AS row FROM runs WHERE id = $1", [runId]);
    assert.ok(!String(row.rows[0].row).includes("pushed-"), "no token in the run row");
  });
});

test("a device the user approves gets its token, which goes to the auth service, and the run succeeds", async () => {
  await withDeviceFlow(async ({ srv, as, service }) => {
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "waiting-for-auth");
    const { auth } = await view(srv, runId);
    await as.approve(auth!.verificationUriComplete!);
    await waitForStatus(srv, runId, "succeeded");
    assert.equal(service.received.length, 1);
    const token = service.received[0].body.token as Record<string, unknown>;
    assert.equal(token.token_type, "Bearer");
    assert.equal(typeof token.access_token, "string");
    const { raw } = await eventSummary(srv, runId);
    assert.ok(!raw.includes(token.access_token as string), "the token is not in the event log");
    assert.match(raw, /credentials delivered to the auth service for project proj-1/);
  });
});

test("a user who denies the device fails the run at step auth, saying so", async () => {
  await withDeviceFlow(async ({ srv, as, service }) => {
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "waiting-for-auth");
    await as.deny((await view(srv, runId)).auth!.verificationUriComplete!);
    const run = await waitForStatus(srv, runId, "failed");
    assert.equal(run.failedStep, "auth");
    assert.match(run.failureReason ?? "", /the user denied the authorization request/);
    assert.equal(service.received.length, 0);
  });
});

test("POST /v1/runs/:id/auth: 404 for an unknown run, 400 naming the field, 409 when the run is not waiting", async () => {
  await withDeviceFlow(async ({ srv }) => {
    for (const id of ["7d444840-9dc0-11d1-b245-5ffdce74fad2", "not-a-uuid"]) {
      const missing = await srv.request(`/v1/runs/${id}/auth`, { method: "POST", json: PUSHED });
      assert.equal(missing.status, 404);
      assert.deepEqual(await missing.json(), { error: "run_not_found" });
    }
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "waiting-for-auth");
    const invalid = await srv.request(`/v1/runs/${runId}/auth`, { method: "POST", json: { token_type: "Bearer", expires_in: "soon" } });
    assert.equal(invalid.status, 400);
    const body = (await invalid.json()) as { error: string; issues: { field: string }[] };
    assert.equal(body.error, "invalid_request");
    assert.deepEqual(body.issues.map((i) => i.field).sort(), ["access_token", "expires_in"]);
    assert.equal((await view(srv, runId)).status, "waiting-for-auth", "an invalid push leaves the run waiting");

    const skipped = await onboard(srv, { owner: "acme", repo: "gadgets", authProjectId: "p", skipAuth: true });
    await waitForStatus(srv, skipped.runId, "succeeded");
    const finished = await srv.request(`/v1/runs/${skipped.runId}/auth`, { method: "POST", json: PUSHED });
    assert.equal(finished.status, 409);
    assert.deepEqual(await finished.json(), { error: "run_not_waiting_for_auth", status: "succeeded" });
  });
});

test("skipAuth, a repo without authProjectId and a server without an authorization server skip the auth step, saying why", async () => {
  await withDeviceFlow(async ({ srv }) => {
    const skipped = await onboard(srv, { ...REPO, skipAuth: true });
    const noProject = await onboard(srv, { owner: "acme", repo: "gadgets" });
    for (const [id, why] of [
      [skipped.runId, "the request set skipAuth"],
      [noProject.runId, "the repo has no authProjectId"],
    ]) {
      await waitForStatus(srv, id, "succeeded");
      const { raw, summary } = await eventSummary(srv, id);
      assert.ok(summary.includes("step:auth (skipped)"));
      assert.ok(raw.includes(why), `${id} says ${why}`);
    }
  });
  const srv = await startTestServer();
  try {
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "succeeded");
    const { raw } = await eventSummary(srv, runId);
    assert.match(raw, /no OAuth authorization server is configured \(MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL/);
  } finally {
    await srv.close();
  }
});

test("cancelling a run waiting for auth cancels it at step auth", async () => {
  await withDeviceFlow(async ({ srv, service }) => {
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "waiting-for-auth");
    const res = await srv.request(`/v1/runs/${runId}/cancel`, { method: "POST" });
    assert.equal(res.status, 202);
    const run = await waitForStatus(srv, runId, "cancelled");
    assert.equal(run.failedStep, "auth");
    assert.match(run.failureReason ?? "", /cancelled by request at step auth/);
    assert.equal(service.received.length, 0);
  });
});

test("a run waiting for auth holds its stack but not a concurrency slot", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.gadgets", { gate });
  await withDeviceFlow(
    async ({ srv }) => {
      const waiting = await onboard(srv, REPO);
      await waitForStatus(srv, waiting.runId, "waiting-for-auth");
      const other = await onboard(srv, { owner: "acme", repo: "gadgets", skipAuth: true });
      const sameStack = await onboard(srv, { ...REPO, displayName: "again" });
      await gate.reached(); // the other repo ran with the cap at 1
      gate.release();
      await waitForStatus(srv, other.runId, "succeeded");
      assert.equal((await view(srv, sameStack.runId)).status, "queued", "the stack stays held by the waiting run");
      await srv.request(`/v1/runs/${waiting.runId}/auth`, { method: "POST", json: PUSHED });
      await waitForStatus(srv, waiting.runId, "succeeded");
      await waitForStatus(srv, sameStack.runId, "waiting-for-auth");
    },
    { runner, runConcurrency: 1 },
  );
});

test("credentials pushed through another replica reach the waiting worker at its next heartbeat", async () => {
  await withDeviceFlow(async ({ srv }) => {
    const { runId } = await onboard(srv, REPO);
    await waitForStatus(srv, runId, "waiting-for-auth");
    // What POST /auth on another replica leaves behind: only the mark in the database.
    await srv.db.pool.query("UPDATE runs SET auth_received_at = now() WHERE id = $1", [runId]);
    await waitForStatus(srv, runId, "succeeded");
    const { raw } = await eventSummary(srv, runId);
    assert.match(raw, /credentials were pushed through the API/);
  });
});
