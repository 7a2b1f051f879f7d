import assert from "node:assert/strict";
import { test } from "node:test";
import { createTask, getTask, registerAgent, registerRepo, startAgent } from "../../testkit/agents";
import { startTestServer, waitFor } from "../../testkit/server";

const TASK = { capability: "implement", owner: "acme", repo: "widgets", payload: { issue: 7 } };

test("agents register (201 with an id), heartbeat (204) and are listed with their health", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false });
  try {
    const agentId = await registerAgent(srv, "impl-1", "http://127.0.0.1:9/tasks", { implement: 2, qa: 1 });
    const beat = await srv.request(`/v1/agents/${agentId}/heartbeat`, { method: "POST" });
    assert.equal(beat.status, 204);
    const missing = await srv.request("/v1/agents/7d444840-9dc0-11d1-b245-5ffdce74fad2/heartbeat", { method: "POST" });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "agent_not_found" });
    const list = (await (await srv.request("/v1/agents")).json()) as {
      agents: { id: string; capabilities: Record<string, number>; healthy: boolean }[];
    };
    assert.equal(list.agents.length, 1);
    assert.deepEqual(list.agents[0].capabilities, { implement: 2, qa: 1 });
    assert.equal(list.agents[0].healthy, true);
    const bad = await srv.request("/v1/agents", {
      method: "POST",
      json: { name: "x", endpoint: "ftp://nope", capabilities: { implement: 1 } },
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { issues: { field: string }[] }).issues[0].field, "endpoint");
  } finally {
    await srv.close();
  }
});

test("a task request is validated field by field, and an unregistered repository is a 404 unknown_repository", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-a");
    const noCap = await srv.request("/v1/tasks", { method: "POST", json: { ...TASK, capability: undefined } });
    assert.equal(noCap.status, 400);
    assert.deepEqual(await noCap.json(), { error: "invalid_request", issues: [{ field: "capability", message: "required" }] });
    const badTimeout = await srv.request("/v1/tasks", { method: "POST", json: { ...TASK, timeoutMs: -5 } });
    assert.equal(badTimeout.status, 400);
    assert.equal(((await badTimeout.json()) as { issues: { field: string }[] }).issues[0].field, "timeoutMs");
    const unknown = await srv.request("/v1/tasks", { method: "POST", json: { ...TASK, repo: "gadgets" } });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { error: "unknown_repository", repository: "acme/gadgets" });
    const { rows } = await srv.db.pool.query("SELECT count(*)::int AS n FROM tasks");
    assert.equal(rows[0].n, 0, "nothing stored for a refused request");
    const ok = await srv.request("/v1/tasks", { method: "POST", json: TASK });
    assert.equal(ok.status, 202);
    const { taskId } = (await ok.json()) as { taskId: string };
    const task = await getTask(srv, taskId);
    assert.equal(task.state, "INTAKE");
    assert.equal(task.deliveryStatus, "pending");
    assert.equal((await srv.request("/v1/tasks/not-a-uuid")).status, 404);
  } finally {
    await srv.close();
  }
});

test("tasks POSTed together are stored together, each answered as its own: 202 with its id once stored, or 404 for an unknown repo, and each audited", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-a");
    const n = 24;
    // The table locked by another transaction holds the first inserts back, so that the other requests arrive meanwhile.
    const lock = await srv.db.pool.connect();
    await lock.query("BEGIN; LOCK TABLE tasks IN EXCLUSIVE MODE");
    const posted = Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await srv.request("/v1/tasks", {
          method: "POST",
          json: { ...TASK, repo: i % 4 === 3 ? "gadgets" : "widgets", payload: { issue: i }, priority: i },
        });
        return { i, status: res.status, body: (await res.json()) as { taskId?: string; error?: string } };
      }),
    );
    try {
      await waitFor(async () => {
        const { rows } = await srv.db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO tasks%'",
        );
        return rows[0].n === 2;
      }, "two inserts to wait for the lock");
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await lock.query("COMMIT");
      lock.release();
    }
    const answers = await posted;
    for (const a of answers) {
      if (a.i % 4 === 3) assert.deepEqual([a.status, a.body], [404, { error: "unknown_repository", repository: "acme/gadgets" }]);
      else assert.equal(a.status, 202);
    }
    // Each answered id is the row of its own request: its payload and priority are that request's.
    const { rows } = await srv.db.pool.query<{ id: string; payload: string; priority: number; created_at: Date }>(
      "SELECT id, payload, priority, created_at FROM tasks",
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const accepted = answers.filter((a) => a.status === 202);
    assert.equal(rows.length, accepted.length, "a row per 202, none for a 404");
    for (const a of accepted) {
      const row = byId.get(a.body.taskId!);
      assert.ok(row, `task ${a.body.taskId} is stored`);
      assert.deepEqual([JSON.parse(row.payload), row.priority], [{ issue: a.i }, a.i]);
    }
    // Rows of one statement share its transaction's now(): fewer distinct times than tasks means fewer INSERTs.
    const statements = new Set(rows.map((r) => r.created_at.getTime())).size;
    assert.ok(statements <= 4, `${accepted.length} tasks in ${statements} statements`);
    await waitFor(async () => {
      const audit = await srv.db.pool.query<{ status: number; n: number }>(
        "SELECT status, count(*)::int AS n FROM audit_log WHERE route = '/v1/tasks' GROUP BY status ORDER BY status",
      );
      return audit.rows.length === 2 && audit.rows[0].n === accepted.length && audit.rows[1].n === n - accepted.length;
    }, "every request to be audited with its status");
  } finally {
    await srv.close();
  }
});

test("a transition canTransition refuses is a 409 naming from and to; an allowed one is a 200", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-a");
    const id = await createTask(srv, TASK);
    const refused = await srv.request(`/v1/tasks/${id}/transition`, { method: "POST", json: { to: "ACCEPTED" } });
    assert.equal(refused.status, 409);
    assert.deepEqual(await refused.json(), { error: "invalid_transition", from: "INTAKE", to: "ACCEPTED" });
    const allowed = await srv.request(`/v1/tasks/${id}/transition`, { method: "POST", json: { to: "PLANNING" } });
    assert.equal(allowed.status, 200);
    assert.equal(((await allowed.json()) as { state: string }).state, "PLANNING");
    assert.equal((await getTask(srv, id)).state, "PLANNING");
    const unknownState = await srv.request(`/v1/tasks/${id}/transition`, { method: "POST", json: { to: "DONE" } });
    assert.equal(unknownState.status, 400);
    assert.equal(((await unknownState.json()) as { issues: { field: string }[] }).issues[0].field, "to");
  } finally {
    await srv.close();
  }
});

test("the agent's reported result is kept and returned by GET after completion", async () => {
  const agent = await startAgent("accept");
  const srv = await startTestServer({ startQueue: false });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-a");
    await registerAgent(srv, "impl", agent.url, { implement: 1 });
    const id = await createTask(srv, TASK);
    await waitFor(async () => (await getTask(srv, id)).deliveryStatus === "delivered", "the task to be delivered");
    const res = await srv.request(`/v1/tasks/${id}/result`, {
      method: "POST",
      json: { outcome: "succeeded", result: { pr: 42, branch: "fix-7" } },
    });
    assert.equal(res.status, 200);
    const task = await getTask(srv, id);
    assert.equal(task.deliveryStatus, "succeeded");
    assert.deepEqual(task.result, { pr: 42, branch: "fix-7" });
    assert.deepEqual(
      task.attempts.map((a) => [a.attempt, a.agentName, a.outcome]),
      [[1, "impl", "succeeded"]],
    );
    const again = await srv.request(`/v1/tasks/${id}/result`, { method: "POST", json: { outcome: "failed" } });
    assert.equal(again.status, 409);
    assert.deepEqual(await again.json(), { error: "task_not_in_flight", deliveryStatus: "succeeded" });
  } finally {
    await srv.close();
    await agent.close();
  }
});

test("a failure the agent reports fails the task, with its error and result kept", async () => {
  const agent = await startAgent("accept");
  const srv = await startTestServer({ startQueue: false });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-a");
    await registerAgent(srv, "impl", agent.url, { implement: 1 });
    const id = await createTask(srv, TASK);
    await waitFor(async () => (await getTask(srv, id)).deliveryStatus === "delivered", "the task to be delivered");
    const res = await srv.request(`/v1/tasks/${id}/result`, {
      method: "POST",
      json: { outcome: "failed", error: "tests do not compile", result: { log: "tsc: 3 errors" } },
    });
    assert.equal(res.status, 200);
    const task = await getTask(srv, id);
    assert.equal(task.deliveryStatus, "failed");
    assert.equal(task.state, "FAILED");
    assert.equal(task.error, "tests do not compile");
    assert.deepEqual(task.result, { log: "tsc: 3 errors" });
    assert.deepEqual(
      task.attempts.map((a) => [a.outcome, a.error]),
      [["failed", "tests do not compile"]],
    );
  } finally {
    await srv.close();
    await agent.close();
  }
});
