import assert from "node:assert/strict";
import { test } from "node:test";
import { registerRepo } from "../../testkit/agents";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, type TestServer, waitFor, waitForStatus } from "../../testkit/server";

/**
 * A repo's lifecycle state (domain/repo-state.ts) through the API as its runs go: the scripted runner does not
 * write the registry row as the real stack does, so the test writes and deletes it where the stack would.
 */

interface RepoItem {
  fullName: string;
  state: string;
  registry: Record<string, unknown> | null;
}

async function state(srv: TestServer, fullName: string): Promise<string> {
  const res = await srv.request(`/v1/repos/${fullName}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as RepoItem).state;
}

async function listed(srv: TestServer, query = ""): Promise<string[]> {
  const res = await srv.request(`/v1/repos${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { repos: RepoItem[] }).repos.map((r) => `${r.fullName} ${r.state}`);
}

async function stateBecomes(srv: TestServer, fullName: string, want: string): Promise<void> {
  await waitFor(async () => (await state(srv, fullName)) === want, `${fullName} to be ${want}`);
}

test("onboard → onboarding → onboarded, a drift check → drifted, offboard → offboarding → offboarded, gone from the default list", async (t) => {
  const runner = new ScriptedRunner();
  const onboarding = new Gate();
  const offboarding = new Gate();
  runner.on((run) => run.kind === "onboard", { gate: onboarding }, { once: true });
  runner.on((run) => run.kind === "drift-check", { changeSummary: { same: 3, update: 1 } });
  runner.on((run) => run.kind === "destroy", { gate: offboarding }, { once: true });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    const other = await onboard(srv, { owner: "acme", repo: "gadgets" });
    await onboarding.reached();
    assert.equal(await state(srv, "acme/widgets"), "onboarding");
    onboarding.release();
    await waitForStatus(srv, runId, "succeeded");
    await waitForStatus(srv, other.runId, "succeeded");
    assert.equal(await state(srv, "acme/widgets"), "onboarded");
    await registerRepo(srv, "acme", "widgets", "proj-w"); // what the stack's RepoRegistration writes

    const drift = await srv.request("/v1/repos/acme/widgets/drift-check", { method: "POST" });
    assert.equal(drift.status, 202);
    await stateBecomes(srv, "acme/widgets", "drifted");

    const before = await listed(srv);
    t.diagnostic(`GET /v1/repos before the offboarding: ${JSON.stringify(before)}`);
    assert.deepEqual(before, ["acme/gadgets onboarded", "acme/widgets drifted"]);

    const destroy = await srv.request("/v1/repos/acme/widgets", { method: "DELETE" });
    assert.equal(destroy.status, 202);
    const destroyRun = ((await destroy.json()) as { runId: string }).runId;
    await offboarding.reached();
    assert.equal(await state(srv, "acme/widgets"), "offboarding");
    assert.deepEqual(await listed(srv), ["acme/gadgets onboarded", "acme/widgets offboarding"]);
    offboarding.release();
    await waitForStatus(srv, destroyRun, "succeeded");
    await srv.db.pool.query("DELETE FROM repo_registry WHERE full_name = 'acme/widgets'"); // as the stack's destroy does

    const after = await listed(srv);
    t.diagnostic(`GET /v1/repos after the offboarding: ${JSON.stringify(after)}`);
    t.diagnostic(`GET /v1/repos?state=offboarded: ${JSON.stringify(await listed(srv, "?state=offboarded"))}`);
    assert.deepEqual(after, ["acme/gadgets onboarded"]);
    assert.deepEqual(await listed(srv, "?state=offboarded"), ["acme/widgets offboarded"]);
    assert.deepEqual(await listed(srv, "?state=all"), ["acme/gadgets onboarded", "acme/widgets offboarded"]);
    assert.deepEqual(await listed(srv, "?state=onboarded"), ["acme/gadgets onboarded"]);

    // Its history stays readable: the repo itself, and its runs.
    const gone = (await (await srv.request("/v1/repos/acme/widgets")).json()) as RepoItem & { lastRun: { id: string } };
    assert.deepEqual([gone.state, gone.registry, gone.lastRun.id], ["offboarded", null, destroyRun]);
    const runs = (await (await srv.request("/v1/repos/acme/widgets/runs")).json()) as { runs: { kind: string }[] };
    assert.deepEqual(
      runs.runs.map((r) => r.kind),
      ["destroy", "drift-check", "onboard"],
    );

    // Onboarded again: onboarding, then onboarded, back in the default list.
    const again = await onboard(srv, { owner: "acme", repo: "widgets" });
    assert.equal(again.body.kind, "onboard");
    await waitForStatus(srv, again.runId, "succeeded");
    assert.deepEqual(await listed(srv), ["acme/gadgets onboarded", "acme/widgets onboarded"]);
  } finally {
    await srv.close();
  }
});

test("a failed onboarding or offboarding is failed, and stays in the default list", async () => {
  const runner = new ScriptedRunner();
  runner.on((run) => run.kind === "onboard", { failAt: { step: "up", message: "quota exceeded" } }, { once: true });
  runner.on((run) => run.kind === "destroy", { failAt: { step: "destroy", message: "finalizer stuck" } }, { once: true });
  const srv = await startTestServer({ runner });
  try {
    const first = await onboard(srv, { owner: "acme", repo: "widgets" });
    await waitForStatus(srv, first.runId, "failed");
    assert.equal(await state(srv, "acme/widgets"), "failed");
    assert.deepEqual(await listed(srv), ["acme/widgets failed"]);

    const second = await onboard(srv, { owner: "acme", repo: "widgets" });
    assert.equal(second.body.kind, "onboard", "a failed onboarding is onboarded afresh");
    await waitForStatus(srv, second.runId, "succeeded");
    assert.equal(await state(srv, "acme/widgets"), "onboarded");

    const destroy = await srv.request("/v1/repos/acme/widgets", { method: "DELETE" });
    await waitForStatus(srv, ((await destroy.json()) as { runId: string }).runId, "failed");
    assert.deepEqual(await listed(srv), ["acme/widgets failed"]);
  } finally {
    await srv.close();
  }
});

test("an onboarding cancelled while queued changed nothing; ?state takes only a state, current or all", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    assert.equal(await state(srv, "acme/widgets"), "onboarding");
    assert.equal((await srv.request(`/v1/runs/${runId}/cancel`, { method: "POST" })).status, 200);
    assert.equal(await state(srv, "acme/widgets"), "offboarded");
    assert.deepEqual(await listed(srv), []);
    assert.deepEqual(await listed(srv, "?state=current"), []);
    for (const query of ["?state=gone", "?state=", "?status=all"]) {
      const res = await srv.request(`/v1/repos${query}`);
      const body = (await res.json()) as { error: string; issues: { field: string }[] };
      assert.deepEqual([res.status, body.error, body.issues.length], [400, "invalid_request", 1], query);
    }
    assert.deepEqual(await (await srv.request("/v1/repos/acme/gadgets")).json(), { error: "repo_not_found" });
  } finally {
    await srv.close();
  }
});
