import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { classifyStateKey, migrateStacks } from "../../pulumi/state-migration";
import { openStateStore } from "../../pulumi/state-store";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function stateDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "state-migration-"));
  dirs.push(dir);
  for (const [key, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    writeFileSync(path.join(dir, key), text);
  }
  return dir;
}

const twoStacks = {
  ".pulumi/meta.yaml": "version: 1\n",
  ".pulumi/stacks/mesh-six/acme.widgets.json": '{"checkpoint":"w"}',
  ".pulumi/stacks/mesh-six/acme.widgets.json.attrs": "",
  ".pulumi/stacks/mesh-six/acme.widgets.json.bak": '{"checkpoint":"w0"}',
  ".pulumi/history/mesh-six/acme.widgets/acme.widgets-1.history.json": '{"kind":"update"}',
  ".pulumi/history/mesh-six/acme.widgets/acme.widgets-1.checkpoint.json": '{"checkpoint":"w"}',
  ".pulumi/stacks/mesh-six/acme.gadgets.json": '{"checkpoint":"g"}',
  ".pulumi/backups/mesh-six/acme.gadgets/acme.gadgets.1.json": '{"checkpoint":"g0"}',
};

test("state keys are told apart by what they hold", () => {
  assert.deepEqual(classifyStateKey(".pulumi/stacks/mesh-six/acme.widgets.json"), { kind: "checkpoint", id: "mesh-six/acme.widgets" });
  assert.deepEqual(classifyStateKey(".pulumi/stacks/mesh-six/acme.widgets.json.gz"), { kind: "checkpoint", id: "mesh-six/acme.widgets" });
  assert.deepEqual(classifyStateKey(".pulumi/stacks/mesh-six/acme.widgets.json.bak"), { kind: "backup", id: "mesh-six/acme.widgets" });
  assert.deepEqual(classifyStateKey(".pulumi/meta.yaml"), { kind: "meta" });
  assert.deepEqual(classifyStateKey(".pulumi/history/mesh-six/acme.widgets/x.history.json"), {
    kind: "history",
    id: "mesh-six/acme.widgets",
  });
  assert.deepEqual(classifyStateKey(".pulumi/locks/organization/mesh-six/acme.widgets/1.json"), {
    kind: "lock",
    id: "mesh-six/acme.widgets",
  });
});

test("every stack moves with its history and backups, byte for byte, and a second run copies nothing", async () => {
  const from = await openStateStore(`file://${stateDir(twoStacks)}`);
  const toDir = stateDir({});
  const to = await openStateStore(`file://${toDir}`);
  const first = await migrateStacks(from, to);
  assert.deepEqual(
    first.stacks.map((s) => [s.stackName, s.status, s.copied]),
    [
      ["acme.gadgets", "copied", 2],
      ["acme.widgets", "copied", 4],
    ],
  );
  for (const [key, text] of Object.entries(twoStacks)) {
    if (key.endsWith(".attrs")) continue;
    assert.equal(readFileSync(path.join(toDir, key), "utf8"), text, key);
  }
  const again = await migrateStacks(from, to);
  assert.deepEqual(
    again.stacks.map((s) => [s.stackName, s.status, s.copied]),
    [
      ["acme.gadgets", "already-there", 0],
      ["acme.widgets", "already-there", 0],
    ],
  );
});

test("a stack the target has with different state is refused and nothing of it is written", async () => {
  const from = await openStateStore(`file://${stateDir(twoStacks)}`);
  const toDir = stateDir({ ".pulumi/stacks/mesh-six/acme.widgets.json": '{"checkpoint":"other"}' });
  const result = await migrateStacks(from, await openStateStore(`file://${toDir}`));
  const widgets = result.stacks.find((s) => s.stackName === "acme.widgets")!;
  assert.equal(widgets.status, "refused");
  assert.match(widgets.reason!, /different contents/);
  assert.equal(readFileSync(path.join(toDir, ".pulumi/stacks/mesh-six/acme.widgets.json"), "utf8"), '{"checkpoint":"other"}');
  assert.throws(() => readFileSync(path.join(toDir, ".pulumi/history/mesh-six/acme.widgets/acme.widgets-1.history.json")));
  assert.equal(result.stacks.find((s) => s.stackName === "acme.gadgets")!.status, "copied");
});

test("a stack locked by an update in progress is refused", async () => {
  const from = await openStateStore(
    `file://${stateDir({ ...twoStacks, ".pulumi/locks/organization/mesh-six/acme.gadgets/abc.json": "{}" })}`,
  );
  const result = await migrateStacks(from, await openStateStore(`file://${stateDir({})}`));
  const gadgets = result.stacks.find((s) => s.stackName === "acme.gadgets")!;
  assert.equal(gadgets.status, "refused");
  assert.match(gadgets.reason!, /locked/);
});

test("stores with different backend layouts are refused whole", async () => {
  const from = await openStateStore(`file://${stateDir(twoStacks)}`);
  const toDir = stateDir({ ".pulumi/meta.yaml": "version: 0\n" });
  const result = await migrateStacks(from, await openStateStore(`file://${toDir}`));
  assert.match(result.refusedWhole!, /different backend layouts/);
  assert.deepEqual(result.stacks, []);
});
