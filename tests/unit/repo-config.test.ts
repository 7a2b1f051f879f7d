import assert from "node:assert/strict";
import { test } from "node:test";
import { RepoConfigError, parseRepoStackConfig, readRepoStackConfig, toStackConfig } from "../../domain/repo-config";

function keysOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RepoConfigError, `expected a RepoConfigError, got ${err}`);
    return err.issues.map((i) => i.key);
  }
  assert.fail("expected the config to be refused");
}

test("defaults fill everything but owner, repo and serverUrl", () => {
  const cfg = parseRepoStackConfig({ owner: "acme", repo: "widgets", serverUrl: "https://m.example" });
  assert.equal(cfg.namespace, "mesh-six");
  assert.equal(cfg.pullSecretName, "gitea-registry-secret");
  assert.equal(cfg.defaultBranch, "main");
  assert.deepEqual(cfg.resources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } });
  assert.deepEqual(cfg.webhookEvents, ["issues", "issue_comment", "pull_request"]);
});

test("each invalid value is refused with an error naming its config key", () => {
  const base = { owner: "acme", repo: "widgets", serverUrl: "https://m.example" };
  const cases: [Record<string, unknown>, string][] = [
    [{ ...base, owner: "-bad" }, "mesh-six:owner"],
    [{ ...base, repo: "a b" }, "mesh-six:repo"],
    [{ ...base, namespace: "Mesh_Six" }, "mesh-six:namespace"],
    [{ ...base, resources: { limits: { memory: "lots" } } }, "mesh-six:resources.limits.memory"],
    [{ ...base, defaultBranch: "feature..x" }, "mesh-six:defaultBranch"],
    [{ ...base, serverUrl: "ftp://x" }, "mesh-six:serverUrl"],
    [{ ...base, webhookEvents: [] }, "mesh-six:webhookEvents"],
    [{ ...base, pullSecretName: "UPPER" }, "mesh-six:pullSecretName"],
    [{ ...base, envSecretKeys: ["1BAD"] }, "mesh-six:envSecretKeys.0"],
    [{ owner: "acme", serverUrl: "https://m.example" }, "mesh-six:repo"],
  ];
  for (const [input, key] of cases) {
    assert.deepEqual(
      keysOf(() => parseRepoStackConfig(input)),
      [key],
      JSON.stringify(input),
    );
  }
});

test("an unknown key is refused rather than ignored", () => {
  const keys = keysOf(() => parseRepoStackConfig({ owner: "acme", repo: "widgets", serverUrl: "https://m.example", namespce: "x" }));
  assert.deepEqual(keys, ["mesh-six:(root)"]);
});

test("structured keys that are not JSON are refused with the key named", () => {
  assert.deepEqual(
    keysOf(() => readRepoStackConfig((k) => ({ owner: "acme", repo: "w", serverUrl: "https://m.example", labels: "[oops" })[k])),
    ["mesh-six:labels"],
  );
});

test("toStackConfig round-trips through readRepoStackConfig", () => {
  const input = {
    owner: "acme",
    repo: "widgets",
    serverUrl: "https://m.example",
    displayName: "Widgets",
    resources: { limits: { cpu: "4" } },
    labels: ["agent-ready"],
    overwriteDevcontainer: true,
  };
  const stackConfig = toStackConfig(input);
  assert.equal(stackConfig["mesh-six:kind"].value, "repo");
  const read = readRepoStackConfig((key) => stackConfig[`mesh-six:${key}`]?.value);
  assert.deepEqual(read, parseRepoStackConfig(input));
  assert.equal(read.resources.limits.cpu, "4");
  assert.equal(read.resources.limits.memory, "4Gi");
});
