import assert from "node:assert/strict";
import { test } from "node:test";
import { DriftScheduler } from "../../runs/drift";
import { ScriptedRunner } from "../../testkit/scripted-runner";
import { startTestServer, type TestServer, waitFor, waitForStatus } from "../../testkit/server";
import { registerRepo } from "../../testkit/webhooks";
import { quietLogger } from "../../testkit/log-capture";

async function driftCheck(srv: TestServer, owner: string, repo: string): Promise<string> {
  const res = await srv.request(`/v1/repos/${owner}/${repo}/drift-check`, { method: "POST" });
  assert.equal(res.status, 202);
  const { runId, kind } = (await res.json()) as { runId: string; kind: string };
  assert.equal(kind, "drift-check");
  await waitForStatus(srv, runId, "succeeded");
  return runId;
}

async function driftStatus(srv: TestServer, stack: string): Promise<{ drift_status: string; drift_checked_at: Date | null }> {
  const { rows } = await srv.db.pool.query("SELECT drift_status, drift_checked_at FROM repo_registry WHERE stack_name = $1", [stack]);
  return rows[0];
}

test("a drift check that would change something marks the repo drifted, in the registry, its view and /metrics", async () => {
  const runner = new ScriptedRunner();
  const srv = await startTestServer({ runner });
  try {
    const { owner, repo } = await registerRepo(srv, {}, null);
    const stack = `${owner}.${repo}`.toLowerCase();
    runner.on(stack, { changeSummary: { same: 7, update: 1, delete: 1 } });
    assert.equal((await driftStatus(srv, stack)).drift_status, "unknown");
    await driftCheck(srv, owner, repo);
    await waitFor(async () => (await driftStatus(srv, stack)).drift_status === "drifted", "the registry to say drifted");
    assert.ok((await driftStatus(srv, stack)).drift_checked_at);
    const view = (await (await srv.request(`/v1/repos/${owner}/${repo}`)).json()) as { registry: { driftStatus: string } };
    assert.equal(view.registry.driftStatus, "drifted");
    const metrics = await (await srv.request("/metrics")).text();
    assert.match(metrics, new RegExp(`mesh_six_repo_drifted\\{stack="${stack}"\\} 1`));
    assert.deepEqual(
      runner.calls.map((c) => c.kind),
      ["drift-check"],
    );
  } finally {
    await srv.close();
  }
});

test("a drift check that would change nothing marks the repo in sync", async () => {
  const runner = new ScriptedRunner();
  const srv = await startTestServer({ runner });
  try {
    const { owner, repo } = await registerRepo(srv, {}, null);
    const stack = `${owner}.${repo}`.toLowerCase();
    runner.on(stack, { changeSummary: { same: 9 } });
    await driftCheck(srv, owner, repo);
    await waitFor(async () => (await driftStatus(srv, stack)).drift_status === "in-sync", "the registry to say in-sync");
    assert.match(await (await srv.request("/metrics")).text(), new RegExp(`mesh_six_repo_drifted\\{stack="${stack}"\\} 0`));
  } finally {
    await srv.close();
  }
});

test("the schedule queues one drift check per repo and interval, however many replicas share the database", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const repos = [await registerRepo(srv, {}, null), await registerRepo(srv, {}, null), await registerRepo(srv, {}, null)];
    const busy = `${repos[2].owner}.${repos[2].repo}`.toLowerCase();
    // A repo with a run under way is left alone: its check would only wait behind it.
    await srv.request("/v1/onboardings", { method: "POST", json: { owner: repos[2].owner, repo: repos[2].repo } });
    const replica = () => new DriftScheduler({ pool: srv.db.pool, intervalMs: 60_000, queued: () => undefined, log: quietLogger() });
    const now = Date.now();
    const created = await Promise.all([replica().queueDue(now), replica().queueDue(now)]);
    assert.equal(created[0] + created[1], 2);
    assert.equal(await replica().queueDue(now + 1000), 0, "the same window queues nothing again");
    const { rows } = await srv.db.pool.query("SELECT stack_name FROM runs WHERE kind = 'drift-check' ORDER BY stack_name");
    assert.deepEqual(
      rows.map((r) => r.stack_name),
      repos
        .slice(0, 2)
        .map((r) => `${r.owner}.${r.repo}`.toLowerCase())
        .sort(),
    );
    assert.ok(!rows.some((r) => r.stack_name === busy));
  } finally {
    await srv.close();
  }
});
