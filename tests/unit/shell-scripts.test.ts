import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

// The bootstrap, the sandbox and the test runner are what a bare machine and CI run first: a quoting slip there
// fails far from its cause.

const ROOT = path.resolve(__dirname, "../..");

function shellScripts(): string[] {
  const tracked = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  return tracked.filter((file) => {
    if (file.endsWith(".sh")) return true;
    if (file.includes(".") && !file.startsWith(".ci/")) return false;
    return /^#!.*\b(bash|sh)\b/.test(readFileSync(path.join(ROOT, file), "utf8").split("\n", 1)[0]);
  });
}

test("every shell script of the project passes shellcheck", () => {
  const scripts = shellScripts();
  for (const expected of ["scripts/bootstrap", "scripts/sandbox", "scripts/test", ".ci/run", "scripts/lib/env.sh"])
    assert.ok(scripts.includes(expected), expected);
  const result = spawnSync("shellcheck", ["-x", "--source-path=SCRIPTDIR", "-f", "gcc", ...scripts], { cwd: ROOT, encoding: "utf8" });
  assert.ok(!result.error, `shellcheck: ${result.error?.message} (scripts/bootstrap installs it)`);
  assert.equal(result.stdout + result.stderr, "");
  assert.equal(result.status, 0);
});
