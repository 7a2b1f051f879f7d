import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LeaseLost, ShuttingDown } from "../../lib/abort";
import { keepLease, newWorkerId, WorkerLoop, type WorkerLoopOptions } from "../../lib/worker-loop";
import { captureLogs, logMessages } from "../../testkit/log-capture";

/** A loop over an in-memory list of job names; `hold` keeps a job in flight until it is released or aborted. */
function harness(jobs: string[], over: Partial<WorkerLoopOptions<string>> = {}) {
  const started: string[] = [];
  const aborted: string[] = [];
  const release = new Map<string, () => void>();
  const { log, lines: logs } = captureLogs();
  const loop = new WorkerLoop<string>({
    concurrency: 2,
    pollMs: 10_000,
    claim: async () => jobs.shift(),
    key: (job) => job,
    work: (job, controller) =>
      new Promise<void>((resolve) => {
        started.push(job);
        release.set(job, resolve);
        controller.signal.addEventListener("abort", () => {
          aborted.push(job);
          resolve();
        });
      }),
    name: "test loop",
    log,
    ...over,
  });
  return { loop, started, aborted, release, logs };
}

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(2);
  }
}

test("worker ids name host and process and differ per worker; a suffix ends them", () => {
  const a = newWorkerId();
  const b = newWorkerId("/dispatch");
  assert.match(a, new RegExp(`/${process.pid}/[0-9a-f]{6}$`));
  assert.match(b, new RegExp(`/${process.pid}/[0-9a-f]{6}/dispatch$`));
  assert.notEqual(a, newWorkerId());
});

test("the loop fills its slots and no more, and a finished job's slot is filled again at once", async () => {
  const jobs = ["a", "b", "c"];
  const h = harness(jobs);
  await h.loop.start();
  await until(() => h.started.length === 2);
  await sleep(20);
  assert.deepEqual(h.started, ["a", "b"]);
  assert.deepEqual(h.loop.keys(), ["a", "b"]);
  h.release.get("a")!();
  // The poll is 10 s: only the finished job's kick can start c this soon.
  await until(() => h.started.length === 3);
  assert.deepEqual(h.loop.keys(), ["b", "c"]);
  await h.loop.stop({ deadline: Date.now() + 1_000, abortAt: Date.now(), reason: new ShuttingDown("stop") });
});

test("claimMany fills every free slot with one claim, asking for exactly the slots that are free", async () => {
  const jobs = ["a", "b", "c", "d", "e"];
  const asked: number[] = [];
  const h = harness(jobs, { concurrency: 3, claim: undefined, claimMany: async (max) => (asked.push(max), jobs.splice(0, max)) });
  await h.loop.start();
  await until(() => h.started.length === 3);
  assert.deepEqual(asked, [3]);
  h.release.get("a")!();
  h.release.get("b")!();
  await until(() => h.started.length === 5);
  // Each finished job kicks the loop: its slot (or both, if they finished together) is asked for, never more.
  assert.ok(
    asked.slice(1).every((n) => n >= 1 && n <= 2),
    `asked ${asked.join(", ")}`,
  );
  assert.deepEqual(h.loop.keys().sort(), ["c", "d", "e"]);
  await h.loop.stop({ deadline: Date.now() + 1_000, abortAt: Date.now(), reason: new ShuttingDown("stop") });
});

test("jobs that rest hold no slot; a kick makes an idle loop claim before its next poll", async () => {
  const jobs = ["a", "b"];
  const resting = new Set<string>();
  const h = harness(jobs, { concurrency: 1, resting: () => resting.size });
  await h.loop.start();
  await until(() => h.started.length === 1);
  resting.add("a");
  jobs.push("late");
  h.loop.kick();
  await until(() => h.started.length === 2);
  assert.deepEqual(h.started, ["a", "b"]);
  await h.loop.stop({ deadline: Date.now() + 1_000, abortAt: Date.now(), reason: new ShuttingDown("stop") });
  assert.deepEqual(h.aborted.sort(), ["a", "b"]);
});

test("stop lets jobs finish until abortAt, aborts the rest with the reason, and returns what outlived the deadline", async () => {
  const reasons: unknown[] = [];
  const h = harness(["quick", "stubborn"], {
    work: (job, controller) =>
      new Promise<void>((resolve) => {
        h.started.push(job);
        controller.signal.addEventListener("abort", () => reasons.push(controller.signal.reason));
        if (job === "quick") setTimeout(resolve, 20);
      }),
  });
  await h.loop.start();
  await until(() => h.started.length === 2);
  const begun = Date.now();
  const left = await h.loop.stop({ deadline: begun + 300, abortAt: begun + 150, reason: new ShuttingDown("the worker is stopping") });
  const took = Date.now() - begun;
  assert.deepEqual(left, ["stubborn"]);
  assert.equal(reasons.length, 1, "only the job still in flight at abortAt is aborted");
  assert.ok(reasons[0] instanceof ShuttingDown);
  assert.ok(took >= 280 && took < 2_000, `stop took ${took} ms`);
  assert.equal(h.loop.running, false);
});

test("a failing pass is logged and the loop goes on", async () => {
  let passes = 0;
  const h = harness([], {
    pollMs: 5,
    eachPass: async () => {
      passes++;
      if (passes === 1) throw new Error("database away");
    },
  });
  await h.loop.start();
  await until(() => passes >= 3);
  await h.loop.stop({ deadline: Date.now() + 1_000, abortAt: Date.now(), reason: new ShuttingDown("stop") });
  assert.deepEqual(logMessages(h.logs), ["test loop: database away"]);
});

test("a lease renewal that says the lease is gone aborts with LeaseLost; failed renewals are reported and retried", async () => {
  const controller = new AbortController();
  const failures: string[] = [];
  let renewals = 0;
  const stop = keepLease({
    leaseMs: 30,
    controller,
    lost: "another worker took it",
    failed: (err) => failures.push(err.message),
    renew: async () => {
      renewals++;
      if (renewals === 1) throw new Error("connection reset");
      return renewals < 3;
    },
  });
  await until(() => controller.signal.aborted);
  stop();
  assert.ok(controller.signal.reason instanceof LeaseLost);
  assert.equal((controller.signal.reason as Error).message, "another worker took it");
  assert.deepEqual(failures, ["connection reset"]);
  const after = renewals;
  await sleep(50);
  assert.equal(renewals, after, "no renewal after stop");
});
