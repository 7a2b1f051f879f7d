import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stackNameFor } from "../../domain/names";
import {
  createEmulatorRepo,
  type FaultServer,
  firstLine,
  startFaultServer,
  TERMINAL,
  timeBudget,
  uniqueOwner,
} from "../../testkit/fault-server";
import { startAuthorizationServer } from "../../testkit/oauth-server";

// SIGTERM to the real server while a run is at each of its steps: the process must be gone within
// MESH_SIX_RUN_SHUTDOWN_GRACE_MS (plus a few seconds for the process's own teardown) whatever the step is doing,
// leave no Pulumi process of its own behind, and a new server must take the run up again.
// Each step is made to last: `stack init` through a `pulumi` that sleeps there (a slow backend), the engine
// creating resources, a pod whose volumes can never bind (a StorageClass that does not exist), a device flow
// nobody approves.

const GRACE_MS = 6000;
const MARGIN_MS = 5000;
const TIMEOUT_MS = 600_000;
const REAL_PULUMI = path.join(process.env.MESH_SIX_TOOLS ?? path.resolve(__dirname, "../../.tools"), "bin", "pulumi");

const scratch = mkdtempSync(path.join(tmpdir(), "mesh-six-shutdown-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A Pulumi "installation" whose `pulumi stack init` (what select-stack runs for a new stack) first waits 60 s (a SIGINT
 * ends it, as it ends the real CLI's).
 */
function slowSelectPulumi(): { tools: string; log: string } {
  const tools = path.join(scratch, "slow-select");
  mkdirSync(path.join(tools, "bin"), { recursive: true });
  const log = path.join(tools, "signals.log");
  writeFileSync(
    path.join(tools, "bin", "pulumi"),
    `#!/bin/bash
case "$*" in
  *"stack init"*)
    trap 'echo "SIGINT $*" >> "${log}"; exit 130' INT
    echo "started $*" >> "${log}"
    for _ in $(seq 600); do sleep 0.1; done ;;
esac
exec "${REAL_PULUMI}" "$@"
`,
  );
  chmodSync(path.join(tools, "bin", "pulumi"), 0o755);
  return { tools, log };
}

/** Processes still running for this stack (the Pulumi CLI is always given `--stack <name>`). */
function processesOf(stackName: string): string[] {
  let out = "";
  try {
    out = execFileSync("pgrep", ["-a", "-f", "--", `--stack ${stackName}`], { encoding: "utf8" });
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return out.split("\n").filter((l) => l.trim() && !l.includes("pgrep"));
}

const timings: { step: string; ms: number }[] = [];

/** SIGTERM now; how long until the process is gone, checked against the grace, and that it left nothing running. */
async function terminate(t: TestContext, fs: FaultServer, step: string, stackName: string): Promise<number> {
  const started = Date.now();
  const code = await fs.server.stop();
  const ms = Date.now() - started;
  timings.push({ step, ms });
  t.diagnostic(`SIGTERM during ${step}: the server exited after ${ms} ms (code ${code}; grace ${GRACE_MS} ms)`);
  assert.ok(
    ms <= GRACE_MS + MARGIN_MS,
    `SIGTERM during ${step}: exit after ${ms} ms, more than the grace ${GRACE_MS} ms + ${MARGIN_MS} ms`,
  );
  assert.equal(code, 0, `a graceful exit:\n${fs.server.logs.slice(-15).join("\n")}`);
  await sleep(500);
  assert.deepEqual(processesOf(stackName), [], "no Pulumi process of the stopped server runs on");
  return ms;
}

async function recovered(fs: FaultServer, runId: string, left: () => number, env: Record<string, string | undefined> = {}) {
  await fs.start(env);
  return fs.waitForRun(runId, TERMINAL, left());
}

test(
  "SIGTERM during select-stack, and a cancel there: both end within the grace; the run is taken up again",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const left = timeBudget(TIMEOUT_MS);
    const owner = uniqueOwner("grace-select");
    const cancelled = { owner, repo: "cancelled" };
    const ref = { owner, repo: "widgets" };
    await createEmulatorRepo(cancelled);
    await createEmulatorRepo(ref);
    const slow = slowSelectPulumi();
    const fs = await startFaultServer({ env: { MESH_SIX_RUN_SHUTDOWN_GRACE_MS: String(GRACE_MS), MESH_SIX_TOOLS: slow.tools } });
    try {
      const first = await fs.onboard(cancelled);
      assert.equal(first.status, 202);
      await fs.waitForEvent(
        first.runId!,
        "the run to be at select-stack",
        (e) => e.type === "step" && e.data.step === "select-stack",
        left(),
      );
      await waitForLog(slow.log, `started .*${stackNameFor(cancelled)}`);
      const cancelAt = Date.now();
      assert.equal((await fs.server.request(`/v1/runs/${first.runId}/cancel`, { method: "POST" })).status, 202);
      const done = await fs.waitForRun(first.runId!, TERMINAL, Math.min(left(), 90_000));
      const cancelMs = Date.now() - cancelAt;
      timings.push({ step: "select-stack (cancel)", ms: cancelMs });
      t.diagnostic(`cancel during select-stack: the run was ${done.status} after ${cancelMs} ms`);
      assert.equal(done.status, "cancelled");
      assert.equal(done.failedStep, "select-stack");
      assert.ok(cancelMs <= GRACE_MS + MARGIN_MS, `cancelled after ${cancelMs} ms`);

      const { runId } = await fs.onboard(ref);
      assert.ok(runId);
      await fs.waitForEvent(runId, "the run to be at select-stack", (e) => e.type === "step" && e.data.step === "select-stack", left());
      await waitForLog(slow.log, `started .*${stackNameFor(ref)}`);
      await terminate(t, fs, "select-stack", stackNameFor(ref));
      assert.match(readFileSync(slow.log, "utf8"), new RegExp(`SIGINT .*${stackNameFor(ref)}`), "the abort reached `pulumi stack init`");

      const run = await recovered(fs, runId, left, { MESH_SIX_TOOLS: process.env.MESH_SIX_TOOLS });
      assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
      await report(fs, "select-stack", run, [cancelled, ref]);
    } finally {
      await fs.cleanup([cancelled, ref]);
    }
  },
);

test("SIGTERM during up: the server is gone within the grace, the run is recovered and succeeds", { timeout: TIMEOUT_MS }, async (t) => {
  const left = timeBudget(TIMEOUT_MS);
  const ref = { owner: uniqueOwner("grace-up"), repo: "widgets" };
  await createEmulatorRepo(ref);
  const fs = await startFaultServer({ env: { MESH_SIX_RUN_SHUTDOWN_GRACE_MS: String(GRACE_MS) } });
  try {
    const { runId } = await fs.onboard(ref);
    assert.ok(runId);
    await fs.waitForEvent(runId, "the engine to be creating resources", (e) => e.type === "resource" && e.data.op === "create", left());
    assert.equal((await fs.getRun(runId)).step, "up");
    await terminate(t, fs, "up", stackNameFor(ref));
    const run = await recovered(fs, runId, left);
    assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
    assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 });
    await report(fs, "up", run, [ref]);
  } finally {
    await fs.cleanup([ref]);
  }
});

test(
  "SIGTERM during pod-health: the server is gone within the grace; the run is taken up again and finishes",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const left = timeBudget(TIMEOUT_MS);
    const ref = { owner: uniqueOwner("grace-pod"), repo: "widgets" };
    await createEmulatorRepo(ref);
    // Ten minutes for the pod: only the shutdown can end this step in time.
    const fs = await startFaultServer({
      env: { MESH_SIX_RUN_SHUTDOWN_GRACE_MS: String(GRACE_MS), MESH_SIX_POD_READY_TIMEOUT_MS: "600000" },
    });
    try {
      const { runId } = await fs.onboard(ref, { storageClassName: "mesh-six-no-such-class" });
      assert.ok(runId);
      await fs.waitForEvent(
        runId,
        "the run to be at pod-health",
        (e) => e.type === "step" && e.data.step === "pod-health" && !e.data.skipped,
        left(),
      );
      await sleep(1000);
      assert.equal((await fs.getRun(runId)).step, "pod-health");
      await terminate(t, fs, "pod-health", stackNameFor(ref));
      // The pod still cannot start: the new server's shorter wait ends the run, failed at pod-health, naming why.
      const run = await recovered(fs, runId, left, { MESH_SIX_POD_READY_TIMEOUT_MS: "5000" });
      assert.equal(run.status, "failed");
      assert.equal(run.failedStep, "pod-health");
      assert.equal(run.interruptions, 1);
      assert.match(run.failureReason ?? "", /not Ready after 5s: PodScheduled=False/);
      await report(fs, "pod-health", run, [ref]);
    } finally {
      await fs.cleanup([ref]);
    }
  },
);

test(
  "SIGTERM while waiting for auth: the server is gone within the grace; the run is taken up again and finishes",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const left = timeBudget(TIMEOUT_MS);
    const ref = { owner: uniqueOwner("grace-auth"), repo: "widgets" };
    await createEmulatorRepo(ref);
    const as = await startAuthorizationServer();
    const oauth = {
      MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL: as.config.deviceAuthorizationUrl,
      MESH_SIX_OAUTH_TOKEN_URL: as.config.tokenUrl,
      MESH_SIX_OAUTH_CLIENT_ID: as.config.clientId,
      MESH_SIX_AUTH_SERVICE_URL: "http://127.0.0.1:9/never-reached",
    };
    const fs = await startFaultServer({ env: { MESH_SIX_RUN_SHUTDOWN_GRACE_MS: String(GRACE_MS), ...oauth } });
    try {
      const { runId } = await fs.onboard(ref, { skipAuth: false, authProjectId: "grace-auth" });
      assert.ok(runId);
      await fs.waitForRun(runId, ["waiting-for-auth"], left());
      await terminate(t, fs, "auth", stackNameFor(ref));
      // Without an authorization server the new server skips the step: the run ends there.
      const run = await recovered(fs, runId, left, Object.fromEntries(Object.keys(oauth).map((k) => [k, undefined])));
      assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
      assert.equal(run.interruptions, 1);
      await report(fs, "auth", run, [ref]);
    } finally {
      await fs.cleanup([ref]);
      await as.close();
    }
  },
);

test("the shutdown timings per step", () => {
  assert.ok(timings.length > 0, "the tests above measured something");
  for (const { step, ms } of timings) assert.ok(ms <= GRACE_MS + MARGIN_MS, `${step}: ${ms} ms`);
});

async function waitForLog(file: string, pattern: string): Promise<void> {
  const re = new RegExp(pattern);
  const until = Date.now() + 60_000;
  for (;;) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      // not written yet
    }
    if (re.test(text)) return;
    if (Date.now() > until) throw new Error(`${file} never matched ${pattern}: ${text}`);
    await sleep(100);
  }
}

async function report(
  fs: FaultServer,
  step: string,
  run: { status: string; failedStep?: string | null; failureReason?: string | null },
  refs: { owner: string; repo: string }[],
) {
  const ms = timings.find((x) => x.step === step)?.ms;
  const { ledger, leaks } = await fs.report(
    {
      fault: `server stopped during ${step}`,
      injected: `SIGTERM to the server while its run was at ${step} (grace ${GRACE_MS} ms)`,
      outcome: `exited after ${ms} ms; a new server took the run up: ${run.status}${run.failedStep ? ` at ${run.failedStep}: ${firstLine(run.failureReason)}` : ""}`,
      durationMs: ms ?? 0,
    },
    refs,
  );
  assert.equal(ledger.accounted, ledger.accepted);
  assert.deepEqual(leaks, []);
}
