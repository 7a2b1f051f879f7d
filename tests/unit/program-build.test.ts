import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseRepoStackConfig } from "../../domain/repo-config";
import { REPO_REGISTRATION } from "../../domain/resource-types";
import { SERIALIZED_PROVIDERS_FILE, assertFreshBuild, readManifest, staleBuildReason } from "../../lib/build-fingerprint";
import { BUILD_DIR, BUILD_ENTRIES, buildProgram } from "../../pulumi/program-build";
import { serializeProvider } from "../../providers/typed-resource";
import { mockPulumi, valueOf } from "../../testkit/pulumi-mocks";

// The program and the policy pack run from JavaScript built once (dist/, npm run build; scripts/test builds it before
// any tier): a build of unchanged sources is left alone, one of changed sources is refused by the program itself.

function miniProject(): string {
  const root = mkdtempSync(path.join(tmpdir(), "mesh-six-build-"));
  for (const dir of ["policies", "db", "lib"]) mkdirSync(path.join(root, dir));
  writeFileSync(path.join(root, "package.json"), '{ "name": "mini", "version": "1.2.3" }\n');
  writeFileSync(path.join(root, "lib", "answer.ts"), "export const answer: number = 42;\n");
  writeFileSync(path.join(root, "index.ts"), 'import { answer } from "./lib/answer";\nconsole.log(`answer ${answer}`);\n');
  writeFileSync(path.join(root, "policies", "index.ts"), 'export const pack = "p";\n');
  writeFileSync(path.join(root, "db", "registry.ts"), 'import { answer } from "../lib/answer";\nexport const table = `t${answer}`;\n');
  return root;
}

test("the build transpiles every module the entries reach, once: unchanged sources are not built again", async () => {
  const root = miniProject();
  try {
    const first = await buildProgram(root);
    assert.deepEqual([first.built, first.inputs], [true, 4]);
    assert.equal(execFileSync(process.execPath, [path.join(root, "dist", "index.js")], { encoding: "utf8" }), "answer 42\n");
    assert.deepEqual(Object.keys(readManifest(path.join(root, "dist"))!.inputs), [
      "db/registry.ts",
      "index.ts",
      "lib/answer.ts",
      "policies/index.ts",
    ]);
    assert.equal(
      JSON.parse(readFileSync(path.join(root, "dist", "package.json"), "utf8")).version,
      "1.2.3",
      "the version the pack reports",
    );
    assert.equal((await buildProgram(root)).built, false, "a fresh build is left as it is");
    writeFileSync(path.join(root, "lib", "answer.ts"), "export const answer: number = 43;\n");
    assert.match(staleBuildReason(path.join(root, "dist"))!, /^lib\/answer\.ts changed since /);
    assert.equal((await buildProgram(root)).built, true, "a changed source is built again");
    assert.equal(execFileSync(process.execPath, [path.join(root, "dist", "index.js")], { encoding: "utf8" }), "answer 43\n");
    assert.equal(staleBuildReason(path.join(root, "dist")), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("an entry run from a stale build refuses to run, naming the changed source; run from its sources it has nothing to check", async () => {
  const root = miniProject();
  try {
    await buildProgram(root);
    const entry = path.join(root, "dist", "policies", "index.js");
    assertFreshBuild(entry);
    assertFreshBuild(path.join(root, "policies", "index.ts"));
    unlinkSync(path.join(root, "lib", "answer.ts"));
    assert.throws(() => assertFreshBuild(entry), /the build is stale: lib\/answer\.ts is gone since .*Run npm run build/);
    assert.throws(() => assertFreshBuild(path.join(tmpdir(), "elsewhere", "x.js")), /not part of a build/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the project's build is fresh (scripts/test builds it), holds the three entries, and Pulumi.yaml and the pack run it", () => {
  assert.equal(staleBuildReason(BUILD_DIR), undefined, "run npm run build");
  const inputs = Object.keys(readManifest(BUILD_DIR)!.inputs);
  for (const entry of [...BUILD_ENTRIES, "stacks/repo.ts", "stacks/platform.ts", "policies/rules/index.ts"])
    assert.ok(inputs.includes(entry), entry);
  assert.ok(
    inputs.every((i) => !i.startsWith("server/") && !i.startsWith("runs/")),
    "nothing of the server is in the program's build",
  );
  assert.match(readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8"), /^main: dist\/index\.js$/m);
});

test("the built repo program's dynamic providers, serialized as Pulumi does: each small, none capturing a module at load, the registry module required from the build", async (t) => {
  const mocks = mockPulumi({ stack: "acme.widgets" });
  delete process.env.LITELLM_API_BASE;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the build, loaded after the mocks as a program is
  const { repoResources } = require(path.join(BUILD_DIR, "stacks", "repo.js")) as typeof import("../../stacks/repo");
  const result = repoResources(
    parseRepoStackConfig({ owner: "acme", repo: "widgets", serverUrl: "https://mesh-six.example.com", displayName: "W" }),
  );
  await valueOf(pulumi.output(result));
  await mocks.until((registered) => registered.some((d) => d.type === REPO_REGISTRATION.token), 10_000);
  const dynamic = mocks.registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
  assert.ok(dynamic.length >= 5, `${dynamic.length} dynamic resources`);
  for (const resource of dynamic) {
    const text = resource.inputs.__provider as string;
    const lazy = [...new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))];
    t.diagnostic(`${resource.type}: ${text.length} characters; required when called: ${lazy.join(", ") || "nothing"}`);
    assert.ok(text.length < 32_000, `${resource.type}: ${text.length} characters`);
    // A module captured by the closure is required when the provider is loaded (a top-level `var x = require(…)`).
    assert.doesNotMatch(text, /^var \S+ = require\(/m, resource.type);
    assert.doesNotMatch(text, /@pulumi\/|tsx/, resource.type);
  }
  const registration = dynamic.find((r) => r.type === REPO_REGISTRATION.token)!.inputs.__provider as string;
  assert.ok(registration.includes(JSON.stringify(path.join(BUILD_DIR, "db", "registry.js"))), "the registry module of the build");
});

test("the build's serialized providers are the texts Pulumi makes of the built providers here, in this environment", async () => {
  /* eslint-disable @typescript-eslint/no-require-imports -- the build's modules, as the program loads them */
  for (const program of ["repo.js", "platform.js"]) require(path.join(BUILD_DIR, "stacks", program));
  const registry = require(path.join(BUILD_DIR, "providers", "typed-resource.js")) as typeof import("../../providers/typed-resource");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const built = JSON.parse(readFileSync(path.join(BUILD_DIR, "providers", SERIALIZED_PROVIDERS_FILE), "utf8")) as Record<string, string>;
  const defined = [...registry.definedProviders()];
  assert.deepEqual(Object.keys(built).sort(), defined.map(([token]) => token).sort(), "one text for each provider the programs define");
  assert.ok(defined.length >= 9, `${defined.length} providers`);
  // The build serialized them with an empty environment; this process has the sandbox's: a provider that captured a
  // value of the environment at load would differ here.
  assert.ok(Object.keys(process.env).length > 5);
  for (const [token, provider] of defined) assert.equal(await registry.serializeProvider(token, provider), built[token], token);
});

test("a provider that captures a secret is refused, naming its type", async () => {
  const secret = pulumi.secret("s3cret");
  const provider: pulumi.dynamic.ResourceProvider = { create: async () => ({ id: String(secret) }) };
  await assert.rejects(
    serializeProvider("pulumi-nodejs:dynamic/t:Leaky", provider),
    /the provider of pulumi-nodejs:dynamic\/t:Leaky captures a secret/,
  );
});
