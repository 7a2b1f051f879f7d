import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { changedComponents, fingerprintOf, hashOf } from "../../domain/fingerprint";
import type { RunRecord } from "../../domain/runs";
import { fingerprinterFrom, inputComponents, PROGRAM_BUILD_PATHS, PROGRAM_ENV, programBuildIdentity } from "../../pulumi/run-fingerprint";
import { workspaceSettings } from "../../pulumi/workspace";
import { moduleGraph, PROJECT_ROOT } from "../../scripts/lib/module-graph";

const PROGRAM_ENTRIES = ["index.ts", "policies/index.ts"];

test("every module the program and the policy pack load is under the paths the program build identity hashes", () => {
  const { files } = moduleGraph(PROGRAM_ENTRIES);
  assert.ok(files.size > 30, `the module graph: ${files.size} files`);
  const outside = [...files].filter((f) => !PROGRAM_BUILD_PATHS.some((p) => f === p || f.startsWith(`${p}/`)));
  assert.deepEqual(outside, []);
});

test("every environment variable the program's modules read is an input of the fingerprint", () => {
  const names = new Set<string>();
  for (const file of moduleGraph(PROGRAM_ENTRIES).files) {
    const text = readFileSync(path.join(PROJECT_ROOT, file), "utf8");
    // `env.NAME`, `process.env.NAME`, a name handed to a reader of env (`numberFrom(env, "NAME")`), names listed for `env[k]`.
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    for (const m of text.matchAll(/\(env, "([A-Z][A-Z0-9_]+)"\)/g)) names.add(m[1]);
  }
  for (const expected of ["LITELLM_API_BASE", "MESH_SIX_S3_ENDPOINT", "VAULT_ADDR", "GITHUB_TOKEN", "MESH_SIX_GITHUB_RETRIES"])
    assert.ok(names.has(expected), `the scan finds ${expected}`);
  assert.deepEqual(
    [...names].filter((n) => !PROGRAM_ENV.includes(n)),
    [],
  );
});

test("the program build identity changes with any file's bytes and with a dist/ appearing, and only then", () => {
  const root = mkdtempSync(path.join(tmpdir(), "mesh-six-build-"));
  try {
    mkdirSync(path.join(root, "stacks"));
    writeFileSync(path.join(root, "Pulumi.yaml"), "name: mesh-six\n");
    writeFileSync(path.join(root, "stacks", "repo.ts"), "export const a = 1;\n");
    writeFileSync(path.join(root, "README.md"), "not the program\n");
    const first = programBuildIdentity(root);
    assert.equal(programBuildIdentity(root), first, "stable");
    writeFileSync(path.join(root, "README.md"), "still not the program\n");
    assert.equal(programBuildIdentity(root), first, "a file outside the paths changes nothing");
    writeFileSync(path.join(root, "stacks", "repo.ts"), "export const a = 2;\n");
    const edited = programBuildIdentity(root);
    assert.notEqual(edited, first);
    mkdirSync(path.join(root, "dist", "stacks"), { recursive: true });
    writeFileSync(path.join(root, "dist", "stacks", "repo.js"), "exports.a = 2;\n");
    assert.notEqual(programBuildIdentity(root), edited, "the prebuilt JavaScript is part of the build");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("inputs are hashes; the credentials' only together, so that no one of them can be checked against a guess", () => {
  const settings = workspaceSettings({ PULUMI_BACKEND_URL: "file:///tmp/state", PULUMI_CONFIG_PASSPHRASE: "p" });
  const token = "ghp_secretvalue0123456789";
  const env = { GITHUB_TOKEN: token, VAULT_TOKEN: "root", VAULT_ADDR: "http://vault", UNRELATED: "x" };
  const before = inputComponents(settings, env);
  assert.ok(!JSON.stringify(before).includes(token));
  assert.ok(!("env:UNRELATED" in before), "only what the program reads");
  assert.ok(before["env:VAULT_ADDR"], "a plain setting has a component of its own");
  // Hashing a guess of one credential (Vault's dev token, say) matches no component.
  const guesses = ["root", token].flatMap((v) => [hashOf(v), hashOf(JSON.stringify([["VAULT_TOKEN", v]]))]);
  assert.deepEqual(
    Object.values(before).filter((h) => guesses.includes(h)),
    [],
  );
  assert.deepEqual(
    Object.keys(before).filter((k) => /TOKEN/.test(k)),
    [],
    "no credential is named alone",
  );
  const after = inputComponents(settings, { ...env, GITHUB_TOKEN: "ghp_another" });
  assert.deepEqual(changedComponents(before, after), ["secrets changed: env"]);
  // The state backend's password is how one logs in to it, not where the state is.
  const backend = (url: string) =>
    inputComponents(workspaceSettings({ PULUMI_BACKEND_URL: url, PULUMI_CONFIG_PASSPHRASE: "p" }), {})["state:backend"];
  assert.equal(backend("postgres://u:one@db/state"), backend("postgres://u:two@db/state"));
  assert.notEqual(backend("postgres://u:one@db/state"), backend("postgres://u:one@other/state"));
});

test("a run's config components are toStackConfig's keys; the digest is the same whatever the components' order", () => {
  const fp = fingerprinterFrom({ program: "p", toolchain: { pulumi: "v" }, inputs: {} });
  const run = (request: Record<string, unknown>, options = {}) =>
    ({ request: { owner: "acme", repo: "widgets", serverUrl: "https://m.example", ...request }, options }) as unknown as RunRecord;
  const a = fp.fingerprint(run({ labels: ["x"] }));
  assert.ok(a.components["config:mesh-six:kind"] && a.components["config:mesh-six:labels"]);
  assert.equal(fp.fingerprint(run({ labels: ["x"] }, { force: true })).digest, a.digest, "force is no part of what is applied");
  assert.deepEqual(changedComponents(a.components, fp.fingerprint(run({ labels: ["y"] })).components), ["config changed: mesh-six:labels"]);
  assert.equal(fingerprintOf({ b: "2", a: "1" }).digest, fingerprintOf({ a: "1", b: "2" }).digest);
  assert.throws(() => fp.fingerprint(run({ namespace: "Not A Label" })), /mesh-six:namespace/);
});
