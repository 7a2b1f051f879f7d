import assert from "node:assert/strict";
import { test } from "node:test";
import { createEmulatorRepo, startFaultServer, TERMINAL, timeBudget, uniqueOwner } from "../../testkit/fault-server";

const TIMEOUT_MS = 900_000;

// Ten clients onboard the same repository at the same moment (no Idempotency-Key, so ten runs): every one is
// stored and queued, and the stack's queue runs them one at a time; the first creates, the others find nothing to do.

const CLIENTS = 10;

test(
  "ten concurrent onboardings of one repo: all accepted and queued, run one at a time, all succeed",
  { timeout: TIMEOUT_MS },
  async () => {
    const started = Date.now();
    const left = timeBudget(TIMEOUT_MS);
    const ref = { owner: uniqueOwner("burst"), repo: "widgets" };
    await createEmulatorRepo(ref);
    const fs = await startFaultServer();
    try {
      const answers = await Promise.all(Array.from({ length: CLIENTS }, () => fs.onboard(ref)));
      const byStatus: Record<string, number> = {};
      for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
      assert.deepEqual(byStatus, { 202: CLIENTS });
      for (const a of answers) {
        assert.ok(Number.isInteger(a.position) && a.position! >= 0 && a.position! < CLIENTS, `queue position ${a.position}`);
      }
      const ids = answers.map((a) => a.runId!);
      assert.equal(new Set(ids).size, CLIENTS);

      const runs = [];
      for (const id of ids) runs.push(await fs.waitForRun(id, TERMINAL, left()));
      for (const run of runs) assert.equal(run.status, "succeeded", `${run.id} ${run.failedStep}: ${run.failureReason}`);

      // When each run held the stack, from its own status events (the database's clock).
      const spans = [];
      for (const id of ids) {
        const statuses = (await fs.events(id)).filter((e) => e.type === "status");
        const running = statuses.find((e) => e.data.status === "running");
        const done = statuses.find((e) => TERMINAL.includes(String(e.data.status)));
        assert.ok(running && done, `run ${id} has running and terminal events`);
        spans.push({ id, from: running.at.getTime(), to: done.at.getTime() });
      }
      spans.sort((a, b) => a.from - b.from);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(spans[i].from >= spans[i - 1].to, `run ${spans[i].id} started before ${spans[i - 1].id} finished`);
      }

      // Requests sent at the same moment have no order of their own (a run's seq is taken before its transaction
      // commits, so the queue may see a later seq first): whichever ran first created the stack; the rest, identical
      // to it, were answered up-to-date in turn without running Pulumi.
      const { rows: stored } = await fs.pool.query("SELECT id, change_summary, up_to_date_with FROM runs WHERE id = ANY($1::uuid[])", [
        ids,
      ]);
      const rows = spans.map((span) => stored.find((r) => r.id === span.id)!);
      assert.ok((rows[0].change_summary.create ?? 0) > 0, `the first run creates: ${JSON.stringify(rows[0].change_summary)}`);
      for (const r of rows.slice(1)) assert.equal(r.up_to_date_with, rows[0].id, `a later run is up-to-date with the first: ${r.id}`);
      assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 });

      const { ledger, leaks } = await fs.report(
        {
          fault: "ten concurrent onboardings of one repo",
          injected: `${CLIENTS} POST /v1/onboardings for the same repository sent at once`,
          requests: { sent: CLIENTS, byStatus },
          outcome: `all ${CLIENTS} answered 202 with a queue position, ran one at a time without overlapping, all succeeded (the first created ${rows[0].change_summary.create} resources, the other ${CLIENTS - 1} were up-to-date with it)`,
          durationMs: Date.now() - started,
        },
        [ref],
      );
      assert.deepEqual(ledger, { accepted: CLIENTS, accounted: CLIENTS });
      assert.deepEqual(leaks, []);
    } finally {
      await fs.cleanup([ref]);
    }
  },
);
