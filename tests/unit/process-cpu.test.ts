import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { cpuPerItem, processPid, sampleCpu, thisProcess } from "../../bench/lib/process-cpu";

function spin(ms: number): void {
  const until = process.cpuUsage().user + ms * 1000;
  while (process.cpuUsage().user < until);
}

test("the CPU a process spends between two samples is counted to the millisecond, not to the clock tick", () => {
  const before = sampleCpu({ self: thisProcess });
  const own = process.cpuUsage();
  spin(37);
  const used = process.cpuUsage(own);
  const after = sampleCpu({ self: thisProcess });
  const counted = [...after.self.values()][0] - [...before.self.values()][0];
  const spent = (used.user + used.system) / 1000;
  // Ticks would give a multiple of 10 ms; the scheduler's time is within a few ms of Node's own account (its other threads).
  assert.ok(Math.abs(counted - spent) < 5, `counted ${counted.toFixed(2)} ms for ${spent.toFixed(2)} ms spent`);
  const perItem = cpuPerItem(before, after, 37);
  assert.ok(Math.abs(perItem.self - (counted * 1000) / 37) < 1e-6);
  assert.equal(perItem.total, perItem.self);
});

test("a process outside every group is not counted, and a sleeping one costs nothing", async () => {
  const child = spawn("sleep", ["5"], { stdio: "ignore" });
  try {
    await new Promise((resolve) => child.once("spawn", resolve));
    const groups = { sleeper: processPid(child.pid!) };
    const before = sampleCpu(groups);
    await new Promise((resolve) => setTimeout(resolve, 100));
    spin(20);
    const after = sampleCpu(groups);
    assert.deepEqual(Object.keys(after), ["sleeper"]);
    assert.equal(after.sleeper.size, 1);
    const counted = cpuPerItem(before, after, 1).sleeper / 1000;
    assert.ok(counted < 1, `a sleeping process counted ${counted} ms`);
  } finally {
    child.kill();
  }
});

test("a process started between the samples counts all its time; one gone by the second sample is left out", async () => {
  const before = new Map([
    ["1@100", 50],
    ["2@100", 70],
  ]);
  const after = new Map([
    ["1@100", 80],
    ["3@900", 12],
  ]);
  assert.deepEqual(cpuPerItem({ g: before }, { g: after }, 2), { g: ((80 - 50 + 12) * 1000) / 2, total: ((80 - 50 + 12) * 1000) / 2 });
});
