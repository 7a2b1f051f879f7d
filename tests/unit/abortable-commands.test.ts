import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { selectRepoStack, selectStack, workspaceSettings } from "../../pulumi/workspace";

// Stack creation and config writes are CLI commands too (`pulumi stack init`, `pulumi config set-all`): a run's
// abort must reach them, or a cancel or a shutdown waits for whatever they are stuck on. A `pulumi`
// that is slow exactly there stands in for a slow backend; it records the signals it got.

const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-slow-pulumi-"));
const state = mkdtempSync(path.join(tmpdir(), "mesh-six-slow-state-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

function slowPulumi(name: string, slowOn: string, onSigint: "exit" | "ignore"): { root: string; log: string } {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, "bin"), { recursive: true });
  const log = path.join(root, "signals.log");
  const trap = onSigint === "exit" ? `trap 'echo SIGINT >> "${log}"; exit 130' INT` : `trap 'echo SIGINT >> "${log}"' INT`;
  writeFileSync(
    path.join(root, "bin", "pulumi"),
    `#!/bin/bash
case "$*" in
  version*) echo v3.248.0; exit 0 ;;
  *"${slowOn}"*) ${trap}; echo started >> "${log}"; for _ in $(seq 200); do sleep 0.1; echo tick >> "${log}"; done; exit 0 ;;
  *"config --show-secrets --json"*) echo '{}'; exit 0 ;;
  *) exit 0 ;;
esac
`,
  );
  chmodSync(path.join(root, "bin", "pulumi"), 0o755);
  return { root, log };
}

function settingsWith(root: string) {
  const settings = workspaceSettings({ PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: "unit", MESH_SIX_TOOLS: root });
  assert.equal(settings.pulumiRoot, root);
  return settings;
}

async function waitForFile(file: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("an abort reaches `pulumi stack init` of a new stack: it gets SIGINT and the selection fails at once", async () => {
  const { root, log } = slowPulumi("select", "stack init", "exit");
  const controller = new AbortController();
  const selecting = selectStack("acme.slow-select", settingsWith(root), { stop: controller.signal });
  await waitForFile(log);
  const aborted = Date.now();
  controller.abort(new Error("cancelled by request"));
  await assert.rejects(selecting);
  const took = Date.now() - aborted;
  assert.ok(took < 3000, `the selection stopped ${took} ms after the abort (the command sleeps 20 s)`);
  assert.match(readFileSync(log, "utf8"), /SIGINT/);
});

test("an abort reaches the config writes of a repo stack (`pulumi config set-all`)", async () => {
  const { root, log } = slowPulumi("config", "config set-all", "exit");
  const controller = new AbortController();
  const selecting = selectRepoStack({ owner: "acme", repo: "slow-config", serverUrl: "https://m.example" }, settingsWith(root), {
    stop: controller.signal,
  });
  await waitForFile(log);
  const aborted = Date.now();
  controller.abort(new Error("cancelled by request"));
  await assert.rejects(selecting);
  assert.ok(Date.now() - aborted < 3000, `stopped ${Date.now() - aborted} ms after the abort`);
  assert.match(readFileSync(log, "utf8"), /SIGINT/);
});

test("a command that ignores SIGINT is killed, with its children, when the kill signal fires", async () => {
  const { root, log } = slowPulumi("stubborn", "stack init", "ignore");
  const stop = new AbortController();
  const kill = new AbortController();
  const selecting = selectStack("acme.stubborn", settingsWith(root), { stop: stop.signal, kill: kill.signal });
  await waitForFile(log);
  stop.abort(new Error("shutting down"));
  await new Promise((r) => setTimeout(r, 500));
  const killed = Date.now();
  kill.abort(new Error("out of time"));
  await assert.rejects(selecting);
  assert.ok(Date.now() - killed < 2000, `gone ${Date.now() - killed} ms after the kill`);
  assert.match(readFileSync(log, "utf8"), /SIGINT/, "it was asked to stop first");
  const lines = readFileSync(log, "utf8");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(readFileSync(log, "utf8"), lines, "nothing of it runs on: its loop writes no more ticks");
});
