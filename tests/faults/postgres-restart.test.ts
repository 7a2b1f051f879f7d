import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stackNameFor } from "../../domain/names";
import {
  createEmulatorRepo,
  firstLine,
  type FaultServer,
  startFaultServer,
  TERMINAL,
  timeBudget,
  uniqueOwner,
} from "../../testkit/fault-server";
import { logEntries, logMessages } from "../../testkit/log-capture";
import { type PostgresInstance, startPostgresInstance } from "../../testkit/postgres-instance";
import { waitFor } from "../../testkit/server";

const TIMEOUT_MS = 600_000;

// The server's database (its own PostgreSQL instance, which the Pulumi program's registration also writes
// through DATABASE_URL) stops for longer than a run lease while an onboarding's `up` is creating resources, then
// comes back: every connection drops, every heartbeat fails until the lease has lapsed.

for (const stateInDatabase of [false, true]) {
  const where = stateInDatabase ? "Pulumi's state in the same PostgreSQL" : "Pulumi's state in a file backend";
  test(
    `PostgreSQL down for longer than a lease during up (${where}): the run ends recorded, the server stays up and ready, the next onboarding works`,
    { timeout: TIMEOUT_MS },
    (t) => restartDuringUp(t, stateInDatabase),
  );
}

async function restartDuringUp(t: TestContext, stateInDatabase: boolean): Promise<void> {
  const started = Date.now();
  const left = timeBudget(TIMEOUT_MS);
  const ref = { owner: uniqueOwner("pg"), repo: "widgets" };
  await createEmulatorRepo(ref);
  let pg: PostgresInstance | undefined;
  let fs: FaultServer | undefined;
  try {
    pg = await startPostgresInstance();
    fs = await startFaultServer({ databaseUrl: await pg.createDatabase("fault_pg"), stateInDatabase });
    const server = fs.server;
    const first = await fs.onboard(ref);
    assert.equal(first.status, 202);
    const runId = first.runId!;
    await fs.waitForEvent(runId, "the engine to have created a resource", (e) => e.type === "resource" && e.data.phase === "done", left());
    assert.equal((await fs.getRun(runId)).step, "up");
    // Down for longer than a run lease (3 s): heartbeats fail until the lease has lapsed, as in a real failover.
    await pg.stop();
    await sleep(4_000);
    await pg.start();

    await waitFor(
      () =>
        fetch(`${server.url}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        ),
      "/readyz to answer 200 again",
      left(),
    );
    const run = await fs.waitForRun(runId, TERMINAL, left());
    t.diagnostic(`first run ${run.status} after ${Date.now() - started} ms`);
    // Either the update rode out the outage, or it failed at the step that lost the database, saying so.
    if (run.status === "failed") {
      assert.ok(run.failedStep, "a failed run names its step");
      assert.ok((run.failureReason ?? "").length > 0, "a failed run says why");
    } else {
      assert.equal(run.status, "succeeded");
    }
    assert.equal(server.child.exitCode, null, "the server process is still running");
    assert.equal(server.child.signalCode, null);
    const statuses = (await fs.events(runId)).filter((e) => e.type === "status").map((e) => e.data.status);
    // Its worker was alive all along: its own lease lapsing during the outage must not make it recover the run under
    // itself. Only a run whose outcome could not be recorded (the database was down when it ended) is taken over,
    // recovered and run again.
    const unrecorded = logEntries(server.logs).some((e) => e.runId === runId && e.msg.startsWith("recording failed"));
    assert.deepEqual(
      statuses,
      unrecorded ? ["queued", "running", "interrupted", "queued", "running", run.status] : ["queued", "running", run.status],
      unrecorded ? "a run whose outcome was lost is recovered and run again" : "the run was not taken over as if its worker had died",
    );
    // Progress events sent while the database was away wait for it (in order) rather than being dropped.
    const lostEvents = logMessages(server.logs).filter((l) => l.startsWith("run event not recorded"));
    assert.deepEqual(lostEvents, [], "no progress event was lost to the outage");
    const heldEvents = logMessages(server.logs)
      .map((l) => /^run events recorded again after \d+ ms \((\d+) held\)/.exec(l))
      .reduce((n, m) => n + (m ? Number(m[1]) : 0), 0);

    // Forced: the point is that Pulumi can update the stack after the outage, not that nothing changed.
    const second = await fs.onboard(ref, { force: true });
    assert.equal(second.status, 202);
    const again = await fs.waitForRun(second.runId!, TERMINAL, left());
    assert.equal(again.status, "succeeded", `${again.failedStep}: ${again.failureReason}`);
    t.diagnostic(`second run ${again.status} after ${Date.now() - started} ms`);
    const registry = await fs.pool.query("SELECT stack_name FROM repo_registry WHERE full_name = $1", [`${ref.owner}/${ref.repo}`]);
    assert.deepEqual(registry.rows, [{ stack_name: stackNameFor(ref) }]);
    assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 });
    if (stateInDatabase) {
      // Neither locked nor half-written: no lock of the backend's left, and the checkpoint reads back (the preview above).
      const locks = await fs.pool.query("SELECT key FROM pulumi_state WHERE key LIKE $1", [`%.pulumi/locks/%/${stackNameFor(ref)}/%`]);
      assert.deepEqual(locks.rows, [], "the backend's update lock was released");
    }

    const { ledger, leaks } = await fs.report(
      {
        fault: stateInDatabase ? "PostgreSQL restarted during up, state in PostgreSQL" : "PostgreSQL restarted during up",
        injected: `${stateInDatabase ? "with Pulumi's state in the same database, " : ""}the server's own PostgreSQL stopped (pg_ctl -m fast: every connection terminated) for 4 s, longer than the 3 s run lease, while up was creating resources`,
        outcome:
          `run ${statuses.join(" → ")}${run.status === "failed" ? ` at ${run.failedStep} (${firstLine(run.failureReason)})` : ""}; ` +
          `${heldEvents} progress events held while the database was down and recorded once it was back, none lost` +
          `${unrecorded ? "; the run ended while the database was down, so it was recovered and run again" : ""}; ` +
          "server stayed up, /readyz back to 200; the next onboarding succeeded with a consistent stack",
        durationMs: Date.now() - started,
      },
      [ref],
    );
    assert.deepEqual(ledger, { accepted: 2, accounted: 2 });
    assert.deepEqual(leaks, []);
  } catch (err) {
    for (const l of (fs?.server.logs ?? []).slice(-40)) t.diagnostic(`LOG ${l}`);
    t.diagnostic(`EXIT ${fs?.server.child.exitCode} ${fs?.server.child.signalCode}`);
    throw err;
  } finally {
    await fs?.cleanup([ref]);
    await pg?.destroy();
  }
}
