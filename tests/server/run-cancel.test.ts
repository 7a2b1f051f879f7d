import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, waitForStatus } from "../../testkit/server";

test("cancelling a queued run cancels it at once, and it never runs", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.widgets", { gate }, { once: true });
  const srv = await startTestServer({ runner });
  try {
    const first = await onboard(srv, { owner: "acme", repo: "widgets" });
    const second = await onboard(srv, { owner: "acme", repo: "widgets", displayName: "second" });
    await gate.reached();
    const res = await srv.request(`/v1/runs/${second.runId}/cancel`, { method: "POST" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { runId: second.runId, status: "cancelled", cancelRequested: true });
    gate.release();
    await waitForStatus(srv, first.runId, "succeeded");
    assert.deepEqual(
      runner.calls.map((c) => c.runId),
      [first.runId],
    );
    const run = await waitForStatus(srv, second.runId, "cancelled");
    assert.equal(run.startedAt, null);
  } finally {
    await srv.close();
  }
});

test("cancelling a running run aborts it and records it cancelled at its step", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.widgets", { gate });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await gate.reached();
    const res = await srv.request(`/v1/runs/${runId}/cancel`, { method: "POST" });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { runId, status: "running", cancelRequested: true });
    const run = await waitForStatus(srv, runId, "cancelled");
    assert.equal(run.failedStep, "up");
    assert.match(run.failureReason ?? "", /cancelled by request at step up/);
    assert.equal(runner.calls[0].outcome, "aborted");
    assert.equal(gate.isOpen, false, "stopped by the abort signal, not by finishing");
  } finally {
    await srv.close();
  }
});

test("a cancel requested through another server reaches the worker at its next heartbeat", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.widgets", { gate });
  const srv = await startTestServer({ runner, config: { runLeaseMs: 300 } });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await gate.reached();
    // What POST /cancel on another replica does: it can only mark the run.
    await srv.db.pool.query("UPDATE runs SET cancel_requested_at = now() WHERE id = $1", [runId]);
    const run = await waitForStatus(srv, runId, "cancelled");
    assert.equal(run.failedStep, "up");
  } finally {
    await srv.close();
  }
});

test("cancelling a finished run is a 409 and an unknown run a 404", async () => {
  const srv = await startTestServer();
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await waitForStatus(srv, runId, "succeeded");
    const finished = await srv.request(`/v1/runs/${runId}/cancel`, { method: "POST" });
    assert.equal(finished.status, 409);
    assert.deepEqual(await finished.json(), { error: "run_finished", status: "succeeded" });
    for (const id of ["7d444840-9dc0-11d1-b245-5ffdce74fad2", "not-a-uuid"]) {
      const missing = await srv.request(`/v1/runs/${id}/cancel`, { method: "POST" });
      assert.equal(missing.status, 404);
      assert.deepEqual(await missing.json(), { error: "run_not_found" });
      assert.equal((await srv.request(`/v1/runs/${id}`)).status, 404);
    }
  } finally {
    await srv.close();
  }
});
