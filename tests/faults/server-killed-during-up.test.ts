import assert from "node:assert/strict";
import { test } from "node:test";
import { createEmulatorRepo, startFaultServer, TERMINAL, timeBudget, uniqueOwner } from "../../testkit/fault-server";

const TIMEOUT_MS = 600_000;

// The server dies where it stands (SIGKILL of its process group, Pulumi's processes included) while the engine
// is creating resources; a new server on the same database and state backend must find the run, clear the
// stale lock, refresh the stack, run it again and leave a consistent stack.

test(
  "a server killed during up: the run is interrupted, its stack recovered, re-queued and succeeds",
  { timeout: TIMEOUT_MS },
  async () => {
    const started = Date.now();
    const left = timeBudget(TIMEOUT_MS);
    const ref = { owner: uniqueOwner("kill"), repo: "widgets" };
    await createEmulatorRepo(ref);
    const fs = await startFaultServer();
    try {
      const { status, runId } = await fs.onboard(ref);
      assert.equal(status, 202);
      assert.ok(runId);

      // The engine has started creating resources: at least one resource is done, so the kill leaves partial state.
      await fs.waitForEvent(
        runId,
        "the engine to have created a resource",
        (e) => e.type === "resource" && e.data.phase === "done" && e.data.op === "create",
        left(),
      );
      const before = await fs.getRun(runId);
      assert.equal(before.status, "running");
      assert.equal(before.step, "up");
      const killedPid = fs.server.pid;
      assert.equal(await fs.server.kill(), "SIGKILL");

      await fs.start();
      assert.notEqual(fs.server.pid, killedPid);
      const run = await fs.waitForRun(runId, TERMINAL, left());
      assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
      assert.equal(run.interruptions, 1);

      const events = await fs.events(runId);
      const statuses = events.filter((e) => e.type === "status").map((e) => e.data.status);
      assert.deepEqual(statuses, ["queued", "running", "interrupted", "queued", "running", "succeeded"]);
      const steps = events.filter((e) => e.type === "step").map((e) => e.data.step);
      const recovery = steps.indexOf("clear-lock");
      assert.ok(recovery > steps.indexOf("up"), `recovery after the interrupted up: ${steps.join(" → ")}`);
      assert.equal(steps[recovery + 1], "refresh");
      assert.ok(steps.lastIndexOf("up") > recovery, "up runs again after the recovery");
      const requeued = events.find(
        (e) => e.type === "status" && e.data.status === "queued" && e.seq > events.find((x) => x.data.status === "interrupted")!.seq,
      );
      assert.match(String(requeued?.data.reason), /stack lock cleared, state refreshed/);
      // What the recovery found to clean up (an update to cancel, a state file the kill left empty), for the report.
      const [clearLockAt, refreshAt] = ["clear-lock", "refresh"].map(
        (step) => events.find((e) => e.type === "step" && e.data.step === step)!.seq,
      );
      const recoveryLog = events
        .filter((e) => e.type === "log" && e.seq > clearLockAt && e.seq < refreshAt)
        .map((e) => String(e.data.message));

      const stack = await fs.checkStack(ref);
      assert.deepEqual(stack, { changes: {}, pendingOperations: 0 });

      const { ledger, leaks } = await fs.report(
        {
          fault: "server killed during up",
          injected:
            "SIGKILL of the server's process group (with its Pulumi processes) after the engine created its first resource; a new server started on the same database and state",
          outcome: `run ${statuses.join(" → ")}; recovery: ${recoveryLog.join("; ")}; then refresh; preview shows no changes and no pending operations`,
          durationMs: Date.now() - started,
        },
        [ref],
      );
      assert.deepEqual(ledger, { accepted: 1, accounted: 1 });
      assert.deepEqual(leaks, []);
    } finally {
      await fs.cleanup([ref]);
    }
  },
);
