import assert from "node:assert/strict";
import { test } from "node:test";
import { RunQueue } from "../../runs/queue";
import { CLAIM_LOCK_KEY, claimNextRun, createRun, finishRun, listEvents } from "../../runs/run-store";
import { createTestDatabase } from "../../testkit/database";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { getRunBody, onboard, startTestServer, waitFor, waitForStatus } from "../../testkit/server";
import { quietLogger } from "../../testkit/log-capture";

test("two simultaneous requests for one repo both succeed, one after the other, in order", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.widgets", { gate }, { once: true });
  const srv = await startTestServer({ runner });
  try {
    const [a, b] = await Promise.all([
      onboard(srv, { owner: "acme", repo: "widgets", displayName: "A" }),
      onboard(srv, { owner: "acme", repo: "widgets", displayName: "B" }),
    ]);
    assert.deepEqual([a.status, b.status], [202, 202]);
    const c = await onboard(srv, { owner: "acme", repo: "widgets", displayName: "C" });
    await gate.reached();
    // While the first runs, the others wait their turn (no 409, no concurrent update).
    const queued = await Promise.all([a, b, c].map((r) => getRunBody(srv, r.runId)));
    assert.deepEqual(queued.map((r) => r.status).sort(), ["queued", "queued", "running"]);
    assert.deepEqual(
      queued
        .filter((r) => r.status === "queued")
        .map((r) => r.position)
        .sort(),
      [1, 2],
    );
    gate.release();
    for (const r of [a, b, c]) await waitForStatus(srv, r.runId, "succeeded");
    const { rows } = await srv.db.pool.query("SELECT id FROM runs ORDER BY seq");
    assert.deepEqual(
      runner.calls.map((call) => call.runId),
      rows.map((r) => r.id),
      "FIFO: executed in the order stored",
    );
    assert.equal(runner.maxConcurrentPerStack, 1);
    for (let i = 1; i < runner.calls.length; i++) assert.ok(runner.calls[i].startedAt >= runner.calls[i - 1].endedAt!);
  } finally {
    await srv.close();
  }
});

test("runs of different repos run concurrently, up to the concurrency cap", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on(() => true, { gate });
  const srv = await startTestServer({ runner, config: { runConcurrency: 2 } });
  try {
    const runs = [];
    for (const repo of ["one", "two", "three"]) runs.push(await onboard(srv, { owner: "acme", repo }));
    await gate.reached(2);
    await new Promise((resolve) => setTimeout(resolve, 200)); // several poll intervals: the third must not start
    assert.equal(runner.calls.length, 2);
    assert.equal((await getRunBody(srv, runs[2].runId)).status, "queued");
    gate.release();
    for (const r of runs) await waitForStatus(srv, r.runId, "succeeded");
    assert.equal(runner.maxConcurrent, 2);
  } finally {
    await srv.close();
  }
});

test("two workers on one database never run one stack at once and share the cap", async () => {
  const runner = new ScriptedRunner().on(() => true, { steps: ["select-stack", "up", "wait", "done"] });
  const srv = await startTestServer({ runner, config: { runConcurrency: 2 } });
  const second = new RunQueue({ pool: srv.db.pool, runner, concurrency: 2, leaseMs: 2000, pollMs: 10, log: quietLogger() });
  await second.start();
  try {
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await onboard(srv, { owner: "acme", repo: "widgets", displayName: `run ${i}` }));
    for (let i = 0; i < 4; i++) runs.push(await onboard(srv, { owner: "acme", repo: `other-${i}` }));
    for (const r of runs) await waitForStatus(srv, r.runId, "succeeded", 10_000);
    assert.equal(runner.maxConcurrentPerStack, 1);
    assert.ok(runner.maxConcurrent <= 2, `at most 2 running at once, saw ${runner.maxConcurrent}`);
    const widgets = runner.calls.filter((c) => c.stackName === "acme.widgets").map((c) => c.request.displayName);
    assert.deepEqual(widgets, ["run 0", "run 1", "run 2", "run 3"]);
  } finally {
    await second.stop();
    await srv.close();
  }
});

test("a stopped worker hands its running run back to the queue rather than losing it", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.widgets", { gate }, { once: true });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await gate.reached();
    await srv.app.queue.stop(); // grace 50 ms, then aborted with its lease released
    const { rows } = await srv.db.pool.query("SELECT status, lease_expires_at < now() AS lapsed FROM runs WHERE id = $1", [runId]);
    assert.deepEqual(rows[0], { status: "running", lapsed: true });
    await srv.app.queue.start(); // the next worker recovers it at once and runs it again
    const run = await waitForStatus(srv, runId, "succeeded");
    assert.equal(run.interruptions, 1);
    await waitFor(() => runner.recoveries.length === 1, "the stack to be recovered");
  } finally {
    await srv.close();
  }
});

test("a run claimed by a transaction that began before the stack's previous run ended is dated after that end", async () => {
  const db = await createTestDatabase();
  const lockHolder = await db.pool.connect();
  try {
    const request = { owner: "acme", repo: "widgets" };
    const newRun = { kind: "onboard" as const, owner: "acme", repo: "widgets", stackName: "acme.widgets", request };
    const first = (await createRun(db.pool, newRun)).run;
    const second = (await createRun(db.pool, newRun)).run;
    const claim = { leaseMs: 60_000, concurrency: 4 };
    assert.equal((await claimNextRun(db.pool, { ...claim, leaseOwner: "w1" }))?.id, first.id);

    // The next claim begins its transaction now and waits on the claim lock while the first run ends.
    await lockHolder.query("BEGIN");
    await lockHolder.query("SELECT pg_advisory_xact_lock($1)", [CLAIM_LOCK_KEY]);
    const claimed = claimNextRun(db.pool, { ...claim, leaseOwner: "w2" });
    await waitFor(async () => {
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      return rows[0].n === 1;
    }, "the second claim to wait on the claim lock");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ended = await finishRun(db.pool, first.id, "w1", { status: "succeeded", changeSummary: {}, outputs: {} });
    await lockHolder.query("COMMIT");
    const started = await claimed;

    assert.equal(started?.id, second.id);
    assert.ok(
      started!.startedAt! >= ended!.finishedAt!,
      `started ${started!.startedAt!.toISOString()} ended ${ended!.finishedAt!.toISOString()}`,
    );
    const status = async (id: string, wanted: string) =>
      (await listEvents(db.pool, id, 0)).find((e) => e.type === "status" && e.data.status === wanted)!.createdAt;
    const [running, succeeded] = [await status(second.id, "running"), await status(first.id, "succeeded")];
    assert.ok(running >= succeeded, `running event ${running.toISOString()} before the previous run's end ${succeeded.toISOString()}`);
  } finally {
    lockHolder.release();
    await db.drop();
  }
});
