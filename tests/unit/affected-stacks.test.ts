import assert from "node:assert/strict";
import { test } from "node:test";
import { affectedStacks } from "../../scripts/ci/affected-stacks";

const STACKS = ["platform-dev", "platform-prod", "acme.widgets", "acme.gadgets"];
const REPOS = ["acme.gadgets", "acme.widgets"];
const PLATFORMS = ["platform-dev", "platform-prod"];

test("a change to a component only repo stacks use previews every repo stack and no platform stack", () => {
  assert.deepEqual(affectedStacks(["components/repo-environment.ts"], STACKS), REPOS);
});

test("a change to the catalog previews the platform stacks only", () => {
  assert.deepEqual(affectedStacks(["domain/catalog.ts"], STACKS), PLATFORMS);
});

test("a change to a module both programs import previews every stack", () => {
  assert.deepEqual(affectedStacks(["components/vault-external-secret.ts"], STACKS), [...REPOS, ...PLATFORMS].sort());
});

test("a change to the entry, the packages or the policy pack previews every stack", () => {
  for (const file of ["index.ts", "package-lock.json", "policies/rules/image-pinned.ts"])
    assert.deepEqual(affectedStacks([file], STACKS), [...STACKS].sort(), file);
});

test("a stack's own settings file previews that stack alone", () => {
  assert.deepEqual(affectedStacks(["Pulumi.platform-prod.yaml"], STACKS), ["platform-prod"]);
});

test("a change outside every program previews nothing", () => {
  assert.deepEqual(affectedStacks(["README.md", "server/routes/runs.ts", "tests/unit/names.test.ts"], STACKS), []);
});
