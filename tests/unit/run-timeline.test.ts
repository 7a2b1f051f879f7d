import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parseLaunches, recordLaunches } from "../../bench/lib/cli-launches";
import { watchProcessTree } from "../../bench/lib/process-memory";
import { peaksByRole, processRole, timeline } from "../../bench/lib/run-timeline";

// The benchmark's run timeline: CLI launches seen through a wrapper of the real CLI, processes from /proc, the
// run's own events, put in one order.

function fakeTools(script: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-fake-tools-"));
  mkdirSync(path.join(dir, "bin"));
  writeFileSync(path.join(dir, "bin", "pulumi"), `#!/bin/sh\n${script}\n`);
  chmodSync(path.join(dir, "bin", "pulumi"), 0o755);
  writeFileSync(path.join(dir, "bin", "pulumi-language-nodejs"), "");
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

test("the launch recorder records each command's words (never its values), start, end and exit code, and passes output through", () => {
  const real = fakeTools('echo "ran $*"; [ "$1" = up ] && exit 3; exit 0');
  const recorder = recordLaunches(real.dir);
  try {
    const pulumi = path.join(recorder.toolsDir, "bin", "pulumi");
    assert.equal(
      execFileSync(pulumi, ["stack", "output", "--json", "--show-secrets", "--stack", "a.b"], { encoding: "utf8" }),
      "ran stack output --json --show-secrets --stack a.b\n",
    );
    execFileSync(pulumi, ["config", "set-all", "--stack", "a.b", "--plaintext", "mesh-six:serverUrl=https://x"]);
    assert.throws(
      () => execFileSync(pulumi, ["up", "--yes"], { stdio: "ignore" }),
      (err: { status?: number }) => err.status === 3,
    );
    const launches = recorder.launches();
    assert.deepEqual(
      launches.map((l) => [l.command, l.exitCode]),
      [
        ["stack output", 0],
        ["config set-all", 0],
        ["up", 3],
      ],
    );
    for (const l of launches) assert.ok(l.endMs! >= l.startMs, "each launch ends after it starts");
    // The other binaries of the real bin/ are linked beside the wrapper.
    execFileSync("test", ["-e", path.join(recorder.toolsDir, "bin", "pulumi-language-nodejs")]);
  } finally {
    recorder.remove();
    real.remove();
  }
});

test("the recorded CLI starts with SIGINT and SIGQUIT as the wrapper's caller left them, not ignored as a background job's", () => {
  const real = fakeTools("grep SigIgn /proc/$$/status");
  const recorder = recordLaunches(real.dir);
  try {
    const out = execFileSync(path.join(recorder.toolsDir, "bin", "pulumi"), ["version"], { encoding: "utf8" });
    const ignored = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(out)![1]}`);
    const bit = (signal: number) => (ignored >> BigInt(signal - 1)) & 1n;
    assert.equal(bit(2), 0n, `SIGINT ignored: ${out}`);
    assert.equal(bit(3), 0n, `SIGQUIT ignored: ${out}`);
  } finally {
    recorder.remove();
    real.remove();
  }
});

test("a launch still running has no end; an end without its start is ignored", () => {
  const launches = parseLaunches("100 7 start up\n90 8 end 0\n120 9 start stack history\n150 9 end 0\n");
  assert.deepEqual(launches, [
    { pid: 7, command: "up", startMs: 100 },
    { pid: 9, command: "stack history", startMs: 120, endMs: 150, exitCode: 0 },
  ]);
});

test("processes are named by their role in a Pulumi run", () => {
  assert.equal(processRole(["/x/.tools/bin/pulumi", "up"]), "pulumi CLI");
  assert.equal(processRole(["/x/bin/pulumi-language-nodejs", "127.0.0.1:1"]), "language host");
  assert.equal(processRole(["/p/plugins/resource-kubernetes-v4.25.0/pulumi-resource-kubernetes", "127.0.0.1:1"]), "kubernetes plugin");
  assert.equal(processRole(["/usr/bin/node", "/x/node_modules/@pulumi/pulumi/cmd/run", "--monitor=1", "dist/index.js"]), "program (node)");
  assert.equal(
    processRole(["/usr/bin/node", "/x/node_modules/@pulumi/pulumi/cmd/run-policy-pack", "127.0.0.1:1", "/x/policies"]),
    "policy pack (node)",
  );
  assert.equal(
    processRole(["node", "--import", "data:…", "/x/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js"]),
    "dynamic providers (node)",
  );
  assert.equal(processRole(["bash", "/tmp/mesh-six-bench-tools-ab12/bin/pulumi", "up"]), "launch recorder");
});

test("the timeline puts launches, processes, steps and resource operations in order, grouping operations that change nothing", () => {
  const t0 = Date.parse("2026-01-01T00:00:00.000Z");
  const iso = (ms: number) => new Date(t0 + ms).toISOString();
  const cli = {
    pid: 11,
    ppid: 10,
    argv: ["/t/pulumi", "up"],
    startMs: t0 + 110,
    lastSeenMs: t0 + 900,
    peakRssBytes: 100 * 2 ** 20,
    peakAnonBytes: 60 * 2 ** 20,
  };
  const program = {
    pid: 12,
    ppid: 11,
    argv: ["node", "/n/@pulumi/pulumi/cmd/run", "dist/index.js"],
    startMs: t0 + 300,
    lastSeenMs: t0 + 800,
    peakRssBytes: 200 * 2 ** 20,
    peakAnonBytes: 150 * 2 ** 20,
  };
  const events = [
    { seq: 1, type: "status", data: { status: "running" }, at: iso(0) },
    { seq: 2, type: "step", data: { step: "up" }, at: iso(100) },
    { seq: 3, type: "resource", data: { phase: "pre", op: "same", urn: "u::a", resourceType: "t" }, at: iso(400) },
    {
      seq: 4,
      type: "resource",
      data: { phase: "pre", op: "create", urn: "u::svc", resourceType: "kubernetes:core/v1:Service" },
      at: iso(410),
    },
    { seq: 5, type: "resource", data: { phase: "done", op: "same", urn: "u::a", resourceType: "t" }, at: iso(420) },
    { seq: 6, type: "resource", data: { phase: "pre", op: "same", urn: "u::b", resourceType: "t" }, at: iso(430) },
    { seq: 7, type: "resource", data: { phase: "done", op: "same", urn: "u::b", resourceType: "t" }, at: iso(500) },
    {
      seq: 8,
      type: "resource",
      data: { phase: "done", op: "create", urn: "u::svc", resourceType: "kubernetes:core/v1:Service" },
      at: iso(610),
    },
    { seq: 9, type: "step", data: { step: "pod-health" }, at: iso(950) },
    { seq: 10, type: "status", data: { status: "succeeded" }, at: iso(1000) },
  ];
  const lines = timeline({
    startMs: t0,
    endMs: t0 + 1000,
    launches: [
      { pid: 9, command: "config set-all", startMs: t0 - 200, endMs: t0 - 20, exitCode: 0 },
      { pid: 10, command: "up", startMs: t0 + 105, endMs: t0 + 905, exitCode: 0 },
      // The next run's, begun just after this one ended: not this run's.
      { pid: 13, command: "up", startMs: t0 + 1040, endMs: t0 + 2000, exitCode: 0 },
    ],
    processes: [cli, program, { ...program, pid: 14, ppid: 13, startMs: t0 + 1100, lastSeenMs: t0 + 1900 }],
    events,
    intervalMs: 250,
  });
  assert.deepEqual(
    lines.map((l) => [l.atMs, l.durationMs, l.what]),
    [
      [-200, 180, "CLI launch: pulumi config set-all"],
      [0, undefined, "status running"],
      [100, 850, "step up"],
      [105, 800, "CLI launch: pulumi up"],
      [300, 500, "↳ program (node)"],
      [400, 100, "· same ×2 resources (first start to last end)"],
      [410, 200, "· create: kubernetes:core/v1:Service svc"],
      [950, 50, "step pod-health"],
      [1000, undefined, "status succeeded"],
    ],
  );
  assert.equal(lines[3].peakRssBytes, cli.peakRssBytes, "the launch shows its CLI process's peak");
  assert.deepEqual(
    peaksByRole([cli, program, { ...program, pid: 13, peakRssBytes: 50 }]).map((r) => [r.role, r.count, r.peakRssBytes]),
    [
      ["program (node)", 2, program.peakRssBytes],
      ["pulumi CLI", 1, cli.peakRssBytes],
    ],
  );
});

test("the process watch sees each child's command line, its start and its peak memory, and counts a binary's file pages once", async () => {
  const script = "const b = Buffer.alloc(64 * 2 ** 20, 1); setTimeout(() => b.length, 800)";
  const before = Date.now();
  const watch = watchProcessTree(process.pid, 100);
  const children = [0, 1].map(() => spawn(process.execPath, ["-e", script], { stdio: "ignore" }));
  await Promise.all(children.map((child) => new Promise((resolve) => child.once("exit", resolve))));
  const peaks = watch.stop();
  for (const child of children) {
    const seen = watch.processes().find((p) => p.pid === child.pid);
    assert.ok(seen, "the child was seen");
    assert.deepEqual(seen.argv.slice(0, 2), [process.execPath, "-e"]);
    assert.ok(seen.peakAnonBytes > 64 * 2 ** 20, `anonymous peak ${seen.peakAnonBytes} holds the 64 MiB buffer`);
    assert.ok(seen.peakRssBytes > seen.peakAnonBytes, "resident memory holds the binary's pages too");
    // To the clock tick: not before it was spawned (btime's whole seconds put it up to a second early), nor long after.
    assert.ok(
      seen.startMs >= before - 100 && seen.startMs - before < 2000,
      `its start ${seen.startMs - before} ms from its spawn, by /proc`,
    );
    assert.ok(seen.lastSeenMs >= seen.startMs);
  }
  assert.ok(peaks.descendantsAnonBytes > 128 * 2 ** 20, "both buffers were resident at one sample");
  // Both children map the same node binary: counted once, the sum is below the plain sum of their RSS.
  assert.ok(peaks.descendantsSharedOnceBytes > peaks.descendantsAnonBytes);
  assert.ok(peaks.descendantsSharedOnceBytes < peaks.descendantsBytes, `${peaks.descendantsSharedOnceBytes} < ${peaks.descendantsBytes}`);
  assert.ok(peaks.totalAnonBytes > peaks.descendantsAnonBytes, "the total includes the watched process itself");
});

test("a watch of a run's processes only counts the pulumi CLI and what it started, not the watched process's helpers", async () => {
  // A "pulumi" of our own: node under that name (a hard link, or a copy across file systems), which starts a child.
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-watch-"));
  const fake = path.join(dir, "pulumi");
  try {
    try {
      linkSync(process.execPath, fake);
    } catch {
      copyFileSync(process.execPath, fake);
    }
    const hold = (mib: number) => `const b = Buffer.alloc(${mib} * 2 ** 20, 1); setTimeout(() => b.length, 1200)`;
    const inRunScript = `${hold(64)}; require("node:child_process").spawn(process.execPath.replace(/pulumi$/, "") + "pulumi", ["-e", ${JSON.stringify(hold(32))}], { stdio: "ignore" })`;
    const watch = watchProcessTree(process.pid, 100, { runOnly: true });
    const all = watchProcessTree(process.pid, 100);
    const helper = spawn(process.execPath, ["-e", hold(96)], { stdio: "ignore" });
    const cli = spawn(fake, ["-e", inRunScript], { stdio: "ignore" });
    await Promise.all([helper, cli].map((child) => new Promise((resolve) => child.once("exit", resolve))));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const runOnly = watch.stop();
    const everything = all.stop();
    // The fake CLI (64 MiB) and its child (32 MiB) were counted, the helper (96 MiB) was not; the plain watch counted all.
    assert.ok(
      runOnly.descendantsAnonBytes > 90 * 2 ** 20 && runOnly.descendantsAnonBytes < 180 * 2 ** 20,
      `${runOnly.descendantsAnonBytes}`,
    );
    assert.ok(everything.descendantsAnonBytes > 190 * 2 ** 20, `${everything.descendantsAnonBytes}`);
    assert.ok(
      watch.processes().some((p) => p.pid === helper.pid),
      "the helper is still listed",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
