import assert from "node:assert/strict";
import { test } from "node:test";
import { startFaultServer, TERMINAL, timeBudget } from "../../testkit/fault-server";
import { type OwnGitHub, startOwnGitHub } from "../../testkit/own-github-emulator";

const TIMEOUT_MS = 12 * 60_000;

// GitHub answers 502 to every call from the moment the run's `up` starts until the test ends the outage: longer
// than the client's retries (3, with backoff), so the dynamic providers' calls fail. The run fails cleanly at
// `up`, naming the call, and the same onboarding sent again once GitHub is back succeeds with one webhook and one
// board: nothing half-made is left behind or duplicated.

test(
  "GitHub down (502s) during up: the run fails cleanly at up, naming the call, and succeeds on retry",
  { timeout: TIMEOUT_MS },
  async () => {
    const started = Date.now();
    const left = timeBudget(TIMEOUT_MS, 3 * 60_000);
    const saved = { ...process.env };
    const gh: OwnGitHub = await startOwnGitHub();
    Object.assign(process.env, gh.env);
    const ref = { owner: `outage-${Date.now().toString(36)}`, repo: "widgets" };
    await gh.createRepo(ref);
    const fs = await startFaultServer({ env: { MESH_SIX_GITHUB_RETRY_BASE_MS: "100" } });
    const secrets = fs.secrets.bind(fs);
    fs.secrets = async (refs) => [...(await secrets(refs)), gh.token];
    try {
      const first = await fs.onboard(ref);
      assert.equal(first.status, 202);
      await fs.waitForEvent(first.runId!, "the run to reach up", (e) => e.type === "step" && e.data.step === "up", left());
      await gh.fault({ kind: "server-error", status: 502, count: 100_000 });
      const failed = await fs.waitForRun(first.runId!, TERMINAL, left());
      const refused = (await gh.served())["502"] ?? 0;
      await gh.clearFaults();
      assert.equal(failed.status, "failed", `the run ${failed.status} though GitHub was down`);
      assert.equal(failed.failedStep, "up");
      assert.match(
        failed.failureReason ?? "",
        /GitHub (GET|POST|PUT|PATCH|DELETE) \/repos\/[^ ]+ failed: HTTP 502|GitHub \w+ failed: HTTP 502/,
      );
      assert.ok(refused > 0, "GitHub refused calls");

      const second = await fs.onboard(ref);
      const retried = await fs.waitForRun(second.runId!, TERMINAL, left());
      assert.equal(retried.status, "succeeded", `${retried.failedStep}: ${retried.failureReason}`);
      const world = (await gh.control<{ repos: Record<string, { hooks: unknown[] }>; projects: object }>("GET", "/_emulator/state")).body;
      assert.equal(Object.values(world.repos)[0].hooks.length, 1, "one webhook");
      assert.equal(Object.keys(world.projects).length, 1, "one board");
      assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 });

      const { ledger, leaks } = await fs.report(
        {
          fault: "GitHub down during up",
          injected:
            "every GitHub call of the run answered 502 from the start of its up until the run ended (beyond the client's 3 retries)",
          outcome: `the run failed cleanly at up (${refused} calls refused; reason: ${(failed.failureReason ?? "").split("\n")[0].slice(0, 160)}); the onboarding sent again succeeded, one webhook and one board, the stack consistent`,
          durationMs: Date.now() - started,
        },
        [ref],
      );
      assert.deepEqual(ledger, { accepted: 2, accounted: 2 });
      assert.deepEqual(leaks, []);
    } finally {
      await gh.clearFaults().catch(() => undefined);
      await fs.cleanup([ref]);
      await gh.close();
      process.env = saved;
    }
  },
);
