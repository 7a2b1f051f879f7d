import assert from "node:assert/strict";
import { test } from "node:test";
import type { RepoRef } from "../../domain/names";
import { stackNameFor } from "../../domain/names";
import { createEmulatorRepo, startFaultServer, TERMINAL, timeBudget, uniqueOwner } from "../../testkit/fault-server";
import { waitFor } from "../../testkit/server";

const TIMEOUT_MS = 600_000;

// Three replicas, each in its own empty directories, one database holding everything (runs and Pulumi's state):
// runs spread over them; the replica running an `up` is SIGKILLed while two others work; another replica
// recovers its run and finishes it; no stack is ever updated by two replicas at once, judged both by our leases
// (who held each run, sampled throughout) and by Pulumi's own backend (its update lock while an update runs, and
// the intervals of the updates recorded in each stack's history).

interface Holding {
  runId: string;
  stack: string;
  owner: string;
}

test(
  "a replica SIGKILLed mid-up while two others run: another recovers and finishes its run, nothing lost, no double update",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const started = Date.now();
    const left = timeBudget(TIMEOUT_MS, 180_000);
    const owner = uniqueOwner("replicas");
    const refs: RepoRef[] = ["alpha", "beta", "gamma"].map((repo) => ({ owner, repo }));
    for (const ref of refs) await createEmulatorRepo(ref);
    const fs = await startFaultServer({
      stateInDatabase: true,
      env: { MESH_SIX_RUN_CONCURRENCY: "2", MESH_SIX_DRIFT_CHECK_INTERVAL_MS: "0" },
    });
    const samples: Holding[][] = [];
    const lockSeen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const held = await fs.pool
          .query<{ id: string; stack_name: string; lease_owner: string }>(
            "SELECT id, stack_name, lease_owner FROM runs WHERE status = 'running' AND lease_owner IS NOT NULL",
          )
          .then((r) => r.rows.map((row) => ({ runId: row.id, stack: row.stack_name, owner: row.lease_owner })))
          .catch(() => []);
        samples.push(held);
        const locks = await fs.pool
          .query<{ key: string }>("SELECT key FROM pulumi_state WHERE key LIKE '%.pulumi/locks/%'")
          .catch(() => ({ rows: [] }));
        for (const { key } of locks.rows) lockSeen.add(key.split(".pulumi/locks/")[1].split("/")[2]);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    try {
      await fs.start();
      await fs.start();
      const [a, b, c] = fs.servers;
      assert.equal(new Set(fs.servers.map((s) => s.pid)).size, 3);

      // Each repo is onboarded through a different replica; alpha's update, sent to a third, must wait for its onboard.
      const accepted = [];
      for (const [i, ref] of refs.entries()) {
        fs.server = [a, b, c][i];
        accepted.push(await fs.onboard(ref));
      }
      fs.server = c;
      // Forced, so that it runs Pulumi behind its onboard even when that succeeded (else it would be up-to-date).
      const update = await fs.onboard(refs[0], { force: true });
      assert.equal(update.status, 202);
      assert.ok(accepted.every((x) => x.status === 202 && x.runId));

      // The first run to be creating resources: its replica is the one to kill.
      const victim = await waitFor(
        async () => {
          for (const held of samples[samples.length - 1] ?? []) {
            const events = await fs.events(held.runId);
            if (events.some((e) => e.type === "resource" && e.data.phase === "done" && e.data.op === "create")) return held;
          }
          return undefined;
        },
        "a run to be creating resources",
        left(),
      );
      const killed = fs.servers.find((s) => victim.owner.includes(`/${s.pid}/`))!;
      assert.ok(killed, `the replica holding ${victim.runId} (${victim.owner})`);
      t.diagnostic(`killing replica pid ${killed.pid}, which holds run ${victim.runId} of ${victim.stack}`);
      assert.equal(await killed.kill(), "SIGKILL");
      fs.server = fs.servers.find((s) => s !== killed)!;

      const runIds = [...accepted.map((x) => x.runId!), update.runId!];
      const runs = [];
      for (const id of runIds) runs.push(await fs.waitForRun(id, TERMINAL, left()));
      sampling = false;
      await sampler;
      for (const run of runs) assert.equal(run.status, "succeeded", `${run.id}: ${run.failedStep}: ${run.failureReason}`);
      const victimRun = runs.find((r) => r.id === victim.runId)!;
      assert.equal((victimRun as unknown as { interruptions: number }).interruptions, 1);

      // Who ran what: every owner seen per run; the victim's run was finished by a replica that is not the killed one.
      const owners = new Map<string, Set<string>>();
      for (const held of samples.flat()) owners.set(held.runId, (owners.get(held.runId) ?? new Set()).add(held.owner));
      const victimOwners = [...(owners.get(victim.runId) ?? [])];
      assert.ok(
        victimOwners.some((o) => !o.includes(`/${killed.pid}/`)),
        `recovered by another replica: ${victimOwners.join(", ")}`,
      );
      // Our side: in no sample did two runs of one stack, or two owners of one run, hold a lease at once.
      for (const held of samples) {
        const stacks = held.map((h) => h.stack);
        assert.equal(new Set(stacks).size, stacks.length, `two running runs on one stack: ${JSON.stringify(held)}`);
      }
      // Pulumi's side: its lock was there while updates ran, and no two recorded updates of one stack overlap in time.
      assert.ok(lockSeen.size > 0, "the backend's own update lock was seen in pulumi_state");
      const overlaps = await overlappingUpdates(fs.pool, refs.map(stackNameFor));
      assert.deepEqual(overlaps, []);

      for (const ref of refs) assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 }, stackNameFor(ref));

      const whoRanWhat = runs.map(
        (r) =>
          `${stackNameFor({ owner, repo: (r as unknown as { repo: string }).repo })}:${r.kind} by ${[...(owners.get(r.id) ?? [])].map((o) => o.split("/")[1]).join("→")}`,
      );
      t.diagnostic(`who ran what (replica pids): ${whoRanWhat.join("; ")}`);
      const { ledger, leaks } = await fs.report(
        {
          fault: "replica killed while two others run",
          injected: `three server replicas (own empty directories, state in PostgreSQL) onboarding three repos and an update; SIGKILL of replica ${killed.pid} while its run was creating resources`,
          outcome: `all ${runs.length} runs succeeded; ${whoRanWhat.join("; ")}; backend lock seen for ${lockSeen.size} stacks; no overlapping updates in Pulumi's history; previews show no changes`,
          durationMs: Date.now() - started,
        },
        refs,
      );
      assert.deepEqual(ledger, { accepted: 4, accounted: 4 });
      assert.deepEqual(leaks, []);
    } finally {
      sampling = false;
      await sampler;
      await fs.cleanup(refs);
    }
  },
);

/** Updates of one stack whose [start, end] intervals in Pulumi's history overlap (there must be none). */
async function overlappingUpdates(pool: import("pg").Pool, stacks: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const stack of stacks) {
    const { rows } = await pool.query<{ data: string }>(
      "SELECT data->>'data' AS data FROM pulumi_state WHERE key LIKE $1 AND key LIKE '%.history.json'",
      [`%.pulumi/history/mesh-six/${stack}/%`],
    );
    const spans = rows
      .map((r) => JSON.parse(Buffer.from(r.data, "base64").toString("utf8")) as { startTime: number; endTime: number; kind: string })
      .sort((x, y) => x.startTime - y.startTime);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i].startTime < spans[i - 1].endTime) found.push(`${stack}: ${spans[i - 1].kind} and ${spans[i].kind} overlap`);
    }
  }
  return found;
}
