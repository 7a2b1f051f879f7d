import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

// pulumi/inspect-guard.cjs: the SDK's report of an unexpected error, util.inspect(err, { colors: true }), on a stack
// of the SDK's source-mapped frames (`node_modules/@pulumi/<file>.ts`). Each case runs in a Node process of its own
// with a small heap, so that Node's endless colouring loop (nodejs/node#64011) ends in an out-of-memory crash.

const GUARD = path.resolve(__dirname, "../../pulumi/inspect-guard.cjs");
const SCRIPT = `
  const util = require("node:util");
  const err = new Error("the build is stale");
  err.stack = "Error: the build is stale\\n    at Stack.initializeAndRegisterOutputs (/app/node_modules/@pulumi/resource.ts:1598:22)";
  const text = util.inspect(err, { colors: true });
  console.log(JSON.stringify({ text, custom: typeof util.inspect.custom, styles: typeof util.inspect.styles.module }));`;

function inspectIn(args: string[]) {
  return spawnSync(process.execPath, ["--max-old-space-size=64", ...args, "-e", SCRIPT], { encoding: "utf8", timeout: 60_000 });
}

test("an Error asked for in colour is inspected without: its stack in full, no escape codes, the rest of inspect as it was", () => {
  const guarded = inspectIn(["--require", GUARD]);
  assert.equal(guarded.status, 0, guarded.stderr);
  const out = JSON.parse(guarded.stdout) as { text: string; custom: string; styles: string };
  assert.match(
    out.text,
    /^Error: the build is stale\n {4}at Stack\.initializeAndRegisterOutputs \(\/app\/node_modules\/@pulumi\/resource\.ts:1598:22\)/,
  );
  assert.ok(!out.text.includes("\u001b["), "no escape codes");
  assert.deepEqual([out.custom, out.styles], ["symbol", "string"]);
});

test("this Node has the bug the guard is for: without it, the same inspect runs out of memory", () => {
  const bare = inspectIn([]);
  // When a Node release with nodejs/node#64022 is the project's, this fails: the guard can then go.
  assert.notEqual(bare.status, 0, "this Node colours such a stack correctly: remove pulumi/inspect-guard.cjs");
  assert.match(bare.stderr, /heap out of memory|Invalid string length/);
});
