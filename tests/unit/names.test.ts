import assert from "node:assert/strict";
import { test } from "node:test";
import {
  InvalidRepoNameError,
  k8sNameFor,
  parseRepoRef,
  repoRefFromStackName,
  stackNameFor,
  vaultWebhookPath,
  webhookUrlPath,
} from "../../stacks/names";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// Pairs the old system mapped to one name, and pairs that differ only in characters a k8s name cannot hold.
const LOOKALIKES: [string, string][] = [
  ["a-b/c", "a/b-c"],
  ["acme/my.repo", "acme/my_repo"],
  ["acme/my.repo", "acme/my-repo"],
  ["acme/x--y", "acme/x-y"],
  ["a/b.c", "a-b/c"],
];

test("derived names of look-alike repositories never collide", () => {
  for (const [x, y] of LOOKALIKES) {
    const a = parseRepoRef(x);
    const b = parseRepoRef(y);
    assert.notEqual(stackNameFor(a), stackNameFor(b), `stack names of ${x} and ${y}`);
    assert.notEqual(k8sNameFor(a), k8sNameFor(b), `k8s names of ${x} and ${y}`);
    assert.notEqual(vaultWebhookPath(a), vaultWebhookPath(b), `vault paths of ${x} and ${y}`);
    assert.notEqual(webhookUrlPath(a), webhookUrlPath(b), `webhook paths of ${x} and ${y}`);
  }
});

test("names are injective over many generated repositories", () => {
  const chars = ["a", "b", "-", ".", "_"];
  const seen = { stack: new Map<string, string>(), k8s: new Map<string, string>(), vault: new Map<string, string>() };
  const owners = ["a", "b", "a-b", "ab"];
  let repos = [""];
  for (let i = 0; i < 3; i++) repos = repos.flatMap((r) => chars.map((c) => r + c));
  for (const owner of owners) {
    for (const repo of repos) {
      let ref;
      try {
        ref = parseRepoRef(`${owner}/${repo}`);
      } catch {
        continue;
      }
      const full = `${owner}/${repo}`;
      for (const [kind, name] of [
        ["stack", stackNameFor(ref)],
        ["k8s", k8sNameFor(ref)],
        ["vault", vaultWebhookPath(ref)],
      ] as const) {
        const other = seen[kind].get(name);
        assert.equal(other, undefined, `${kind} name ${name} shared by ${other} and ${full}`);
        seen[kind].set(name, full);
      }
    }
  }
  assert.ok(seen.stack.size > 100);
});

test("the same repository spelled in another case gets the same names (GitHub ignores case)", () => {
  const a = parseRepoRef("Acme/Widgets");
  const b = parseRepoRef("acme/widgets");
  assert.equal(stackNameFor(a), stackNameFor(b));
  assert.equal(k8sNameFor(a), k8sNameFor(b));
  assert.equal(vaultWebhookPath(a), "mesh-six/webhooks/acme/widgets");
});

test("stack names are <owner>.<repo> and read back", () => {
  const ref = parseRepoRef("acme/widgets.api");
  assert.equal(stackNameFor(ref), "acme.widgets.api");
  assert.deepEqual(repoRefFromStackName("acme.widgets.api"), { owner: "acme", repo: "widgets.api" });
  assert.equal(repoRefFromStackName("platform-prod"), undefined);
});

test("the longest names GitHub allows still give valid, distinct names", () => {
  const owner = "o".repeat(38) + "x";
  const repoA = "r".repeat(99) + "a";
  const repoB = "r".repeat(99) + "b";
  const a = parseRepoRef(`${owner}/${repoA}`);
  const b = parseRepoRef(`${owner}/${repoB}`);
  for (const ref of [a, b]) {
    assert.ok(stackNameFor(ref).length <= 100);
    assert.match(stackNameFor(ref), /^[a-z0-9_.-]+$/);
    const k8s = k8sNameFor(ref);
    assert.ok(k8s.length <= 52, `${k8s} is ${k8s.length} long`);
    assert.match(k8s, DNS1123_LABEL);
  }
  assert.notEqual(stackNameFor(a), stackNameFor(b));
  assert.notEqual(k8sNameFor(a), k8sNameFor(b));
});

test("k8s names stay DNS-1123 labels whatever the repository name", () => {
  for (const full of ["a/_x_", "a/.x.", "a/-", "A-1/__.__", "z/x.y_z-w"]) {
    assert.match(k8sNameFor(parseRepoRef(full)), DNS1123_LABEL, full);
  }
});

test("invalid owner and repo names are refused with the field named", () => {
  for (const [full, field] of [
    ["-acme/widgets", "owner"],
    ["ac--me/widgets", "owner"],
    ["acme.io/widgets", "owner"],
    ["o".repeat(40) + "/x", "owner"],
    ["acme/..", "repo"],
    ["acme/wid gets", "repo"],
    ["acme/" + "r".repeat(101), "repo"],
    ["acme/widgets.git", "repo"],
    ["acme", "repo"],
  ] as const) {
    assert.throws(
      () => parseRepoRef(full),
      (err: unknown) => err instanceof InvalidRepoNameError && err.field === field,
      full,
    );
  }
});
