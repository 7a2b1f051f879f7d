import assert from "node:assert/strict";
import { test } from "node:test";
import { type FaultServer, startFaultServer, TERMINAL, timeBudget } from "../../testkit/fault-server";
import { type OwnGitHub, startOwnGitHub } from "../../testkit/own-github-emulator";

// Ten repositories onboarded at once through the real server while GitHub rate-limits the token they all share:
// primary limits (403, x-ratelimit-remaining 0) and secondary ones (429 and 403 with retry-after) spread over the
// runs' calls, from the validate step through the dynamic providers in Pulumi's provider processes. The client
// waits each out and every onboarding succeeds. The queue's own concurrency bounds what runs at once.

const REPOS = 10;
const TIMEOUT_MS = 20 * 60_000;

async function offboard(fs: FaultServer, refs: { owner: string; repo: string }[], left: () => number): Promise<void> {
  const ids = [];
  for (const ref of refs) {
    const res = await fs.server.request(`/v1/repos/${ref.owner}/${ref.repo}`, { method: "DELETE" });
    if (res.status === 202) ids.push(((await res.json()) as { runId: string }).runId);
  }
  for (const id of ids) await fs.waitForRun(id, TERMINAL, left()).catch(() => undefined);
}

test(`${REPOS} onboardings at once against a rate-limited GitHub all succeed`, { timeout: TIMEOUT_MS }, async () => {
  const left = timeBudget(TIMEOUT_MS, 6 * 60_000);
  const saved = { ...process.env };
  const gh: OwnGitHub = await startOwnGitHub();
  // The server, its Pulumi runs and this test's cleanup all reach the test's own emulator.
  Object.assign(process.env, gh.env);
  const owner = `ratelimited-${Date.now().toString(36)}`;
  const refs = Array.from({ length: REPOS }, (_, i) => ({ owner, repo: `widgets-${i}` }));
  let fs: FaultServer | undefined;
  try {
    for (const ref of refs) await gh.createRepo(ref);
    fs = await startFaultServer({ env: { MESH_SIX_RUN_CONCURRENCY: "3", MESH_SIX_GITHUB_RETRY_BASE_MS: "200" } });
    await gh.fault({ kind: "rate-limit", status: 403, count: 8, every: 9, waitSeconds: 1 });
    await gh.fault({ kind: "secondary-rate-limit", status: 429, count: 8, every: 7, waitSeconds: 1 });
    await gh.fault({ kind: "secondary-rate-limit", status: 403, count: 8, every: 5, waitSeconds: 1 });

    const accepted = await Promise.all(refs.map((ref) => fs!.onboard(ref)));
    assert.deepEqual(
      accepted.map((a) => a.status),
      refs.map(() => 202),
    );
    const runs = [];
    for (const a of accepted) runs.push(await fs.waitForRun(a.runId!, TERMINAL, left()));
    const served = await gh.served();
    console.log(`runs: ${runs.map((r) => r.status).join(", ")}; refusals served by status: ${JSON.stringify(served)}`);
    for (const run of runs) assert.equal(run.status, "succeeded", `${run.id} ${run.failedStep}: ${run.failureReason}`);
    assert.ok((served["403"] ?? 0) > 0 && (served["429"] ?? 0) > 0, `403s and 429s were served: ${JSON.stringify(served)}`);

    // Waited out, not duplicated: each repository has the one webhook and the one board its stack declares.
    const world = (
      await gh.control<{ repos: Record<string, { name: string; hooks: unknown[] }>; projects: Record<string, object> }>(
        "GET",
        "/_emulator/state",
      )
    ).body;
    for (const ref of refs) {
      const repo = Object.values(world.repos).find((r) => r.name === ref.repo)!;
      assert.equal(repo.hooks.length, 1, `${ref.repo} has one webhook`);
    }
    assert.equal(Object.keys(world.projects).length, REPOS, "one board per repository");
    const lines = await fs.logLines();
    assert.deepEqual(
      lines.filter((l) => l.includes(gh.token)),
      [],
      "the token is in no log line",
    );
  } finally {
    await gh.clearFaults().catch(() => undefined);
    if (fs) {
      // Offboarded through the server, whose queue destroys them in parallel; what is left the cleanup destroys.
      await offboard(fs, refs, left).catch(() => undefined);
      await fs.cleanup([]);
    }
    await gh.close();
    process.env = saved;
  }
});
