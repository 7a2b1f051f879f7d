import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fingerprinterFrom, type FingerprintParts, type RunFingerprinter } from "../../pulumi/run-fingerprint";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import {
  getRunBody,
  onboard,
  type RunBody,
  startTestServer,
  TEST_FINGERPRINT_PARTS,
  type TestServer,
  waitFor,
  waitForStatus,
} from "../../testkit/server";
import { registerRepo } from "../../testkit/webhooks";

/**
 * An onboard or update identical to the stack's last successful one is answered up-to-date by the queue, without
 * the runner (runs/up-to-date.ts); force, a change of any fingerprint component and every invalidation make it run.
 */

const runner = new ScriptedRunner();
let parts: FingerprintParts = { ...TEST_FINGERPRINT_PARTS };
let current = fingerprinterFrom(parts);
const states = new Map<string, string>();
/** The test's fingerprinter: its parts can change between runs, as a new build or environment of the server would. */
const fingerprinter: RunFingerprinter = {
  fingerprint: (run, extra) => current.fingerprint(run, extra),
  stateIdentity: (stack) => Promise.resolve(states.get(stack)),
};
let srv: TestServer;

before(async () => {
  srv = await startTestServer({ runner, fingerprinter });
});
after(async () => {
  await srv.close();
});

function setParts(change: Partial<FingerprintParts>): void {
  parts = { ...parts, ...change };
  current = fingerprinterFrom(parts);
}

let repos = 0;
/** A repo of its own for each test, so their runs never meet in one stack's history. */
function newRepo(): { owner: string; repo: string; stack: string } {
  const repo = `repo-${++repos}`;
  return { owner: "skip", repo, stack: `skip.${repo}` };
}

async function finished(body: Record<string, unknown>, status = "succeeded"): Promise<RunBody> {
  const { runId } = await onboard(srv, body);
  return waitForStatus(srv, runId, status);
}

function runnerCalls(stack: string): string[] {
  return runner.calls.filter((c) => c.stackName === stack).map((c) => c.kind);
}

async function eventsOf(runId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const { rows } = await srv.db.pool.query("SELECT type, data FROM run_events WHERE run_id = $1 ORDER BY seq", [runId]);
  return rows;
}

async function repoRun(stack: string, kind: "drift-check" | "refresh"): Promise<RunBody> {
  const [owner, repo] = stack.split(".");
  const res = await srv.request(`/v1/repos/${owner}/${repo}/${kind}`, { method: "POST" });
  assert.equal(res.status, 202);
  return waitForStatus(srv, ((await res.json()) as { runId: string }).runId, ["succeeded", "failed"]);
}

test("an identical re-onboard is up-to-date without the runner, recorded as a run with its fingerprint", async () => {
  const { owner, repo, stack } = newRepo();
  runner.on(stack, { outputs: { envPodName: { value: "env-0", secret: false }, token: { value: "t", secret: true } } }, { once: true });
  const first = await finished({ owner, repo, labels: ["agents"], skipAuth: true });
  assert.equal(first.outcome, "applied");
  assert.equal(first.fingerprint?.verdict, "first");
  for (const name of [
    "program",
    "toolchain:pulumi",
    "config:mesh-six:labels",
    "config:mesh-six:serverUrl",
    "env:VAULT_ADDR",
    "options:skipAuth",
  ])
    assert.ok(first.fingerprint?.components[name], `component ${name} recorded`);
  assert.ok(first.fingerprint?.after, "what the applied run left is recorded");

  const again = await finished({ owner, repo, labels: ["agents"], skipAuth: true });
  assert.equal(again.kind, "update");
  assert.equal(again.outcome, "up-to-date");
  assert.equal(again.upToDateWith, first.id);
  assert.equal(again.fingerprint?.verdict, "up-to-date");
  assert.equal(again.fingerprint?.digest, first.fingerprint?.digest);
  assert.deepEqual(again.outputs, { envPodName: "env-0", token: "[secret]" }, "the outputs the stack has");
  assert.deepEqual(again.changeSummary, {});
  assert.ok(Date.parse(again.finishedAt!) - Date.parse(again.startedAt!) < 1000, "well under a second");
  assert.deepEqual(runnerCalls(stack), ["onboard"], "no runner call for the up-to-date one");
  // Through the queue like any run: claimed under a lease (running), its skipped step, its end.
  const events = await eventsOf(again.id);
  assert.deepEqual(
    events.map((e) => (e.type === "status" ? `status:${e.data.status as string}` : `${e.type}:${e.data.step as string}`)),
    ["status:queued", "status:running", "step:up", "status:succeeded"],
  );
  assert.match(events[2].data.skipped as string, new RegExp(`up to date: fingerprint [0-9a-f]{12}: identical to run ${first.id}`));
  assert.match(await (await srv.request("/metrics")).text(), /mesh_six_runs_up_to_date_total\{kind="update"\} [1-9]/);
  const list = (await (await srv.request("/v1/repos")).json()) as { repos: { stackName: string; lastRun: RunBody }[] };
  assert.equal(list.repos.find((r) => r.stackName === stack)?.lastRun.outcome, "up-to-date");
});

test("force runs an identical update; a changed config, program, toolchain or input runs it, naming what changed", async () => {
  const { owner, repo, stack } = newRepo();
  const body = { owner, repo, labels: ["a"] };
  await finished(body);
  const forced = await finished({ ...body, force: true });
  assert.equal(forced.outcome, "applied");
  assert.equal(forced.fingerprint?.verdict, "forced");
  assert.deepEqual(forced.options, { force: true });
  assert.equal((await finished(body)).upToDateWith, forced.id, "the forced run is the new base");

  const labels = await finished({ ...body, labels: ["b"] });
  assert.equal(labels.fingerprint?.verdict, "changed");
  assert.deepEqual(labels.fingerprint?.reasons, ["config changed: mesh-six:labels"]);
  const log = (await eventsOf(labels.id)).find((e) => e.type === "log");
  assert.match(log?.data.message as string, /^not up to date \(changed\): fingerprint [0-9a-f]{12}: config changed: mesh-six:labels$/);

  const removed = await finished({ owner, repo });
  assert.deepEqual(removed.fingerprint?.reasons, ["config removed: mesh-six:labels"]);

  setParts({ program: "another build" });
  assert.deepEqual((await finished({ owner, repo })).fingerprint?.reasons, ["program changed"]);
  setParts({ toolchain: { pulumi: "v3.999.0" }, inputs: { ...parts.inputs, "env:LITELLM_API_BASE": "new" } });
  assert.deepEqual((await finished({ owner, repo })).fingerprint?.reasons, ["env added: LITELLM_API_BASE", "toolchain changed: pulumi"]);
  assert.deepEqual((await finished({ owner, repo, skipAuth: true })).fingerprint?.reasons, ["options changed: skipAuth"]);
  assert.equal((await finished({ owner, repo, skipAuth: true })).outcome, "up-to-date");
  assert.equal(runnerCalls(stack).length, 7);
});

test("drift checks and refreshes always run; drift, a refresh, a failed or cancelled update and an offboard invalidate", async () => {
  const { owner, repo, stack } = newRepo();
  const body = { owner, repo };
  await finished(body);
  const checks = [await repoRun(stack, "drift-check"), await repoRun(stack, "drift-check")];
  assert.deepEqual(
    checks.map((c) => c.fingerprint),
    [null, null],
  );
  assert.equal((await finished(body)).outcome, "up-to-date", "a drift check without drift invalidates nothing");

  runner.on(stack, { changeSummary: { same: 3, update: 1 } }, { once: true });
  const drifted = await repoRun(stack, "drift-check");
  const afterDrift = await finished(body);
  assert.equal(afterDrift.outcome, "applied");
  assert.deepEqual(afterDrift.fingerprint?.reasons, [`a drift check found drift (drift-check ${drifted.id})`]);

  const refresh = await repoRun(stack, "refresh");
  assert.deepEqual((await finished(body)).fingerprint?.reasons, [`a refresh ran since (refresh ${refresh.id})`]);

  runner.on(stack, { failAt: { step: "up", message: "boom" } }, { once: true });
  const failed = await finished({ ...body, displayName: "broken" }, "failed");
  assert.deepEqual((await finished(body)).fingerprint?.reasons, [`a later update ${failed.id} failed`]);

  runner.on(stack, { gate: new Gate() }, { once: true });
  const { runId: cancelled } = await onboard(srv, { ...body, displayName: "cancelled" });
  await waitFor(async () => (await getRunBody(srv, cancelled)).step === "up", "the run to reach up");
  await srv.request(`/v1/runs/${cancelled}/cancel`, { method: "POST" });
  await waitForStatus(srv, cancelled, "cancelled");
  assert.deepEqual((await finished(body)).fingerprint?.reasons, [`a later update ${cancelled} was cancelled`]);

  const res = await srv.request(`/v1/repos/${owner}/${repo}`, { method: "DELETE" });
  const destroy = await waitForStatus(srv, ((await res.json()) as { runId: string }).runId, "succeeded");
  const back = await finished(body);
  assert.equal(back.kind, "onboard");
  assert.deepEqual(back.fingerprint?.reasons, [`the repo was offboarded since (destroy ${destroy.id})`]);
  assert.deepEqual(runnerCalls(stack), [
    "onboard",
    "drift-check",
    "drift-check",
    "drift-check",
    "update",
    "refresh",
    "update",
    "update",
    "update",
    "update",
    "update",
    "destroy",
    "onboard",
  ]);
});

test("a state checkpoint or registry row changed outside the runs invalidates; a drift verdict on the row does not", async () => {
  const registered = await registerRepo(srv, {}, null, "skipreg");
  const stack = "skipreg.widgets";
  const body = { owner: registered.owner, repo: registered.repo };
  states.set(stack, "checkpoint 1");
  const first = await finished(body);
  assert.deepEqual(first.fingerprint?.after?.state, "checkpoint 1");
  assert.match(first.fingerprint?.after?.registry ?? "", /^[0-9a-f]{32}$/);

  await srv.db.pool.query("UPDATE repo_registry SET drift_status = 'in-sync', drift_checked_at = now() WHERE stack_name = $1", [stack]);
  assert.equal((await finished(body)).outcome, "up-to-date");

  states.set(stack, "checkpoint 2"); // e.g. `pulumi up -s` from a checkout
  const byHand = await finished(body);
  assert.deepEqual(byHand.fingerprint?.reasons, [
    "the stack's state changed outside this server's runs (a Pulumi command by hand, a recovery or a migration)",
  ]);
  assert.equal(byHand.fingerprint?.after?.state, "checkpoint 2", "the run that applied records the new checkpoint");
  assert.equal((await finished(body)).outcome, "up-to-date");

  await srv.db.pool.query(`UPDATE repo_registry SET labels = '["edited"]' WHERE stack_name = $1`, [stack]);
  assert.deepEqual((await finished(body)).fingerprint?.reasons, ["the repo's registry row changed since"]);
  await srv.db.pool.query("DELETE FROM repo_registry WHERE stack_name = $1", [stack]);
  assert.deepEqual((await finished(body)).fingerprint?.reasons, ["the repo's registry row is gone"]);
});

test("an update is up-to-date only while the world was seen in sync within the drift-check interval", async () => {
  const local = await startTestServer({ config: { driftCheckIntervalMs: 1000 } });
  try {
    const body = { owner: "aging", repo: "widgets" };
    const { runId } = await onboard(local, body);
    const first = await waitForStatus(local, runId, "succeeded");
    await waitFor(() => Date.now() - Date.parse(first.finishedAt!) > 1100, "the observation to age past the interval", 3000);
    const stale = await waitForStatus(local, (await onboard(local, body)).runId, "succeeded");
    assert.equal(stale.outcome, "applied");
    assert.match(
      stale.fingerprint?.reasons[0] ?? "",
      /^the world was last seen in sync at .*, longer ago than the drift-check interval \(1000 ms\)$/,
    );
    const res = await local.request("/v1/repos/aging/widgets/drift-check", { method: "POST" });
    await waitForStatus(local, ((await res.json()) as { runId: string }).runId, "succeeded");
    // The in-sync check is the newest observation; the applied run before it its base.
    const fresh = await waitForStatus(local, (await onboard(local, body)).runId, "succeeded");
    assert.equal(fresh.outcome, "up-to-date");
    assert.equal(fresh.upToDateWith, stale.id);
  } finally {
    await local.close();
  }
});

test("without a fingerprinter every update runs, as before", async () => {
  const local = await startTestServer({ fingerprinter: null });
  try {
    const body = { owner: "plain", repo: "widgets" };
    await waitForStatus(local, (await onboard(local, body)).runId, "succeeded");
    const again = await waitForStatus(local, (await onboard(local, body)).runId, "succeeded");
    assert.equal(again.outcome, "applied");
    assert.equal(again.fingerprint, null);
    assert.equal(local.runner.calls.length, 2);
  } finally {
    await local.close();
  }
});
