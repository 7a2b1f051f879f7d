import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.join(__dirname, "../..");

function pinnedVersions(): Record<string, string> {
  const text = readFileSync(path.join(root, "scripts/lib/toolchain-versions.sh"), "utf8");
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

function installedVersion(pkg: string): string {
  return JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")).version;
}

test("the npm Pulumi SDK is pinned to exactly the CLI version bootstrap builds", () => {
  const deps = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).dependencies;
  assert.equal(deps["@pulumi/pulumi"], pinnedVersions().PULUMI_VERSION);
  assert.equal(installedVersion("@pulumi/pulumi"), pinnedVersions().PULUMI_VERSION);
});

test("the npm kubernetes SDK asks for exactly the plugin version bootstrap builds", () => {
  const deps = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).dependencies;
  assert.equal(deps["@pulumi/kubernetes"], pinnedVersions().KUBERNETES_PLUGIN_VERSION);
  // The SDK requests its plugin by the version in its own package.json's pulumi block.
  const meta = JSON.parse(readFileSync(path.join(root, "node_modules/@pulumi/kubernetes/package.json"), "utf8"));
  assert.equal(meta.pulumi?.version ?? meta.version, pinnedVersions().KUBERNETES_PLUGIN_VERSION);
});

test("the Pulumi SDK stays below 3.249, the first release that needs Node 22", () => {
  const [major, minor] = pinnedVersions().PULUMI_VERSION.split(".").map(Number);
  assert.ok(major === 3 && minor < 249, `PULUMI_VERSION ${pinnedVersions().PULUMI_VERSION}`);
});
