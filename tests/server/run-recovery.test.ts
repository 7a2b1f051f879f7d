import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, type TestServer, waitForStatus } from "../../testkit/server";

/** What a worker that died mid-`up` leaves behind: a running run whose lease lapsed. */
async function strand(srv: TestServer, runId: string, interruptions = 0): Promise<void> {
  await srv.db.pool.query(
    `UPDATE runs SET status = 'running', step = 'up', lease_owner = 'dead-worker', started_at = now() - interval '1 minute',
       lease_expires_at = now() - interval '1 second', interruptions = $2 WHERE id = $1`,
    [runId, interruptions],
  );
}

async function statusTrail(srv: TestServer, runId: string): Promise<string[]> {
  const { rows } = await srv.db.pool.query(
    "SELECT data->>'status' AS status FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY seq",
    [runId],
  );
  return rows.map((r) => r.status as string);
}

test("a running run whose lease lapsed is interrupted, its stack recovered, and re-queued once", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await strand(srv, runId);
    await srv.app.queue.start();
    const run = await waitForStatus(srv, runId, "succeeded");
    assert.equal(run.interruptions, 1);
    assert.deepEqual(
      srv.runner.recoveries.map((r) => r.id),
      [runId],
    );
    assert.deepEqual(await statusTrail(srv, runId), ["queued", "interrupted", "queued", "running", "succeeded"]);
    const { rows } = await srv.db.pool.query(
      "SELECT data FROM run_events WHERE run_id = $1 AND type = 'status' AND data->>'status' = 'interrupted'",
      [runId],
    );
    assert.match(rows[0].data.reason, /lease of worker dead-worker lapsed/);
  } finally {
    await srv.close();
  }
});

test("a run interrupted again after its one retry fails with the step and a clear reason", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await strand(srv, runId, 1);
    await srv.app.queue.start();
    const run = await waitForStatus(srv, runId, "failed");
    assert.equal(run.failedStep, "up");
    assert.match(run.failureReason ?? "", /interrupted again at step up after being re-queued once; not retried/);
    assert.equal(srv.runner.recoveries.length, 1, "the stale lock is still cleared for the next run");
    assert.equal(srv.runner.calls.length, 0);
  } finally {
    await srv.close();
  }
});

test("a run whose stack cannot be recovered fails naming the recovery step", async () => {
  const runner = new ScriptedRunner();
  runner.recoverFailure = "state backend unreachable";
  const srv = await startTestServer({ runner, startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await strand(srv, runId);
    await srv.app.queue.start();
    const run = await waitForStatus(srv, runId, "failed");
    assert.equal(run.failedStep, "up");
    assert.match(run.failureReason ?? "", /recovery failed at refresh: state backend unreachable/);
  } finally {
    await srv.close();
  }
});

test("a run whose worker still renews its lease is left alone", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await srv.db.pool.query(
      "UPDATE runs SET status = 'running', lease_owner = 'live-worker', lease_expires_at = now() + interval '1 minute' WHERE id = $1",
      [runId],
    );
    assert.deepEqual(await srv.app.queue.recoverInterruptedRuns(), []);
    assert.equal((await srv.db.pool.query("SELECT status FROM runs WHERE id = $1", [runId])).rows[0].status, "running");
  } finally {
    await srv.close();
  }
});

test("a recovered run keeps its place ahead of later runs of its stack", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const stranded = await onboard(srv, { owner: "acme", repo: "widgets", displayName: "first" });
    await strand(srv, stranded.runId);
    const later = await onboard(srv, { owner: "acme", repo: "widgets", displayName: "second" });
    await srv.app.queue.start();
    await waitForStatus(srv, later.runId, "succeeded");
    assert.deepEqual(
      srv.runner.calls.map((c) => c.runId),
      [stranded.runId, later.runId],
    );
  } finally {
    await srv.close();
  }
});

test("a cancel that arrives while an interrupted run is recovered ends it cancelled, not re-queued", async () => {
  const runner = new ScriptedRunner();
  runner.recoverGate = new Gate();
  const srv = await startTestServer({ runner, startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await strand(srv, runId);
    const starting = srv.app.queue.start();
    await runner.recoverGate.reached();
    const res = await srv.request(`/v1/runs/${runId}/cancel`, { method: "POST" });
    assert.equal(res.status, 202);
    assert.equal(((await res.json()) as { status: string }).status, "interrupted");
    runner.recoverGate.release();
    await starting;
    const run = await waitForStatus(srv, runId, "cancelled");
    assert.match(run.failureReason ?? "", /cancelled while recovering/);
    assert.equal(runner.calls.length, 0);
  } finally {
    await srv.close();
  }
});
