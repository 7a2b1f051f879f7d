import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { projectRelativeNodeArgs, workspaceSettings } from "../../pulumi/workspace";

// pulumi/sdk-lazy-requires.cjs: what @pulumi/pulumi loads at its own load but our processes rarely use waits for its
// first use. Each case runs in a fresh Node process, as the program, the policy pack and the dynamic providers do.

const ROOT = path.resolve(__dirname, "../..");
const PRELOAD = path.join(ROOT, "pulumi", "sdk-lazy-requires.cjs");
const DEFERRED = /node_modules\/(typescript|@npmcli\/arborist)\//;

function node(script: string, preload: boolean): Record<string, unknown> {
  const args = [...(preload ? ["--require", PRELOAD] : []), "-e", script];
  const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
}

const LOADED = `Object.keys(require.cache).filter((f) => ${DEFERRED}.test(f)).map((f) => f.match(${DEFERRED})[1])`;

test("without the preload the SDK loads TypeScript and arborist at its own load; with it, neither", () => {
  const script = `require("@pulumi/pulumi"); console.log(JSON.stringify({ loaded: [...new Set(${LOADED})].sort() }))`;
  assert.deepEqual(node(script, false), { loaded: ["@npmcli/arborist", "typescript"] });
  assert.deepEqual(node(script, true), { loaded: [] });
});

test("the server, which runs through tsx and imports the preload first, loads neither with the Automation API", () => {
  // tsx asks each CommonJS module's exports for a "module.exports" key: that question must not load TypeScript.
  const script = `require("@pulumi/pulumi/automation"); console.log(JSON.stringify({ loaded: [...new Set(${LOADED})].sort() }))`;
  const run = (preload: boolean) => {
    const args = ["--import", "tsx", ...(preload ? ["--require", PRELOAD] : []), "-e", script];
    const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
  };
  assert.deepEqual(run(false), { loaded: ["@npmcli/arborist", "typescript"] });
  assert.deepEqual(run(true), { loaded: [] });
  assert.match(readFileSync(path.join(ROOT, "server", "main.ts"), "utf8"), /^(\/\/.*\n)*import "\.\.\/pulumi\/sdk-lazy-requires\.cjs";/);
});

test("run-policy-pack's ts-node registration loads neither ts-node nor TypeScript for a JavaScript pack; a TypeScript file still compiles through it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-ts-node-"));
  try {
    writeFileSync(path.join(dir, "f.ts"), "export const f = (x: number): number => x + 1;\n");
    // What cmd/run-policy-pack/run.js does, from its own directory: find both, read their versions, register ts-node.
    const loaded = `[...new Set(Object.keys(require.cache).filter((f) => /node_modules\\/(typescript|ts-node)\\//.test(f)).map((f) => f.match(/node_modules\\/(typescript|ts-node)\\//)[1]))].sort()`;
    const script = `
      const sdkRequire = require("node:module").createRequire(require.resolve("@pulumi/pulumi/cmd/run-policy-pack/run.js"));
      const { tsnodeRequire, typescriptRequire } = sdkRequire("../../tsutils").typeScriptRequireStrings();
      const tsn = sdkRequire(tsnodeRequire);
      const ts = sdkRequire(typescriptRequire);
      const versions = [ts.version, tsn.VERSION];
      tsn.register({ typeCheck: true, skipProject: true, compilerOptions: { target: "ES2020", module: "commonjs" } });
      require(${JSON.stringify(path.join(ROOT, "dist", "lib", "build-fingerprint.js"))});
      const afterJs = ${loaded};
      const result = require(${JSON.stringify(path.join(dir, "f.ts"))}).f(41);
      console.log(JSON.stringify({ versions, afterJs, result, afterTs: ${loaded} }));`;
    const pkg = (name: string) =>
      (JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
    assert.deepEqual(node(script, true), {
      versions: [pkg("typescript"), pkg("ts-node")],
      afterJs: [],
      result: 42,
      afterTs: ["ts-node", "typescript"],
    });
    assert.deepEqual(node(script, false), {
      versions: [pkg("typescript"), pkg("ts-node")],
      afterJs: ["ts-node", "typescript"],
      result: 42,
      afterTs: ["ts-node", "typescript"],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("closure serialization, the program's use of TypeScript, works through the stand-in and loads it then", () => {
  const script = `
    const pulumi = require("@pulumi/pulumi");
    const n = 41;
    pulumi.runtime.serializeFunction(() => n + 1).then((f) => {
      const fn = new Function("exports", f.text + "; return exports." + f.exportName);
      console.log(JSON.stringify({ result: fn({})(), loaded: [...new Set(${LOADED})] }));
    });`;
  assert.deepEqual(node(script, true), { result: 42, loaded: ["typescript"] });
});

test("computeCodePaths, the SDK's use of arborist, works through the stand-ins", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-code-paths-"));
  try {
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "p", version: "1.0.0", dependencies: {} }));
    writeFileSync(path.join(dir, "index.js"), "module.exports = 1;\n");
    const script = `
      process.chdir(${JSON.stringify(dir)});
      const pulumi = require("@pulumi/pulumi");
      pulumi.runtime.computeCodePaths().then((paths) => console.log(JSON.stringify({ paths: [...paths.keys()] })));`;
    const withPreload = node(script, true);
    assert.deepEqual(withPreload, node(script, false));
    assert.ok(Array.isArray(withPreload.paths));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the stand-ins for arborist are its exports, every one of them", () => {
  const script = `
    const sdk = require.resolve("@pulumi/pulumi");
    const arborist = require(require.resolve("@npmcli/arborist", { paths: [sdk] }));
    const own = Object.getOwnPropertyNames(arborist).filter((k) => !["length", "name", "prototype"].includes(k));
    console.log(JSON.stringify({ own: own.sort() }));`;
  const source = readFileSync(PRELOAD, "utf8");
  const listed = JSON.parse(/"@npmcli\/arborist": (\[[^\]]*\])/.exec(source)![1]) as string[];
  assert.deepEqual(node(script, false), { own: [...listed].sort() });
});

test("a module the SDK asks for that is not installed still fails, so that its own fallback runs", () => {
  const script = `
    const Module = require("node:module");
    const sdkFile = require.resolve("@pulumi/pulumi");
    const parent = new Module(sdkFile); parent.filename = sdkFile; parent.paths = ["/nonexistent/node_modules"];
    let error;
    try { Module._load("typescript", parent, false); } catch (err) { error = err.code; }
    console.log(JSON.stringify({ error }));`;
  assert.deepEqual(node(script, true), { error: "MODULE_NOT_FOUND" });
});

test("every Node process of a run gets the preload, from the project's Pulumi.yaml and from a scratch workspace's", () => {
  const nodeargs = (file: string) =>
    (parse(readFileSync(file, "utf8")) as { runtime: { options: { nodeargs: string } } }).runtime.options.nodeargs;
  assert.match(nodeargs(path.join(ROOT, "Pulumi.yaml")), /--require \.\/pulumi\/sdk-lazy-requires\.cjs/);
  assert.match(nodeargs(path.join(ROOT, "policies", "PulumiPolicy.yaml")), /--require \.\.\/pulumi\/sdk-lazy-requires\.cjs/);
  for (const manifest of ["Pulumi.yaml", "policies/PulumiPolicy.yaml"])
    assert.match(nodeargs(path.join(ROOT, manifest)), /--require \.{1,2}\/pulumi\/inspect-guard\.cjs/, manifest);
  // A shared backend's workspace is a scratch directory: a path relative to it would name no file, and Node would
  // refuse to start the program.
  const scratch = mkdtempSync(path.join(tmpdir(), "mesh-six-scratch-"));
  try {
    const settings = workspaceSettings(
      { PULUMI_BACKEND_URL: "postgres://u@127.0.0.1:1/none", PULUMI_CONFIG_PASSPHRASE: "unit" },
      { scratchDir: scratch, stackSettings: { load: async () => undefined, save: async () => {}, remove: async () => {} } },
    );
    assert.notEqual(settings.workDir, ROOT);
    const args = nodeargs(path.join(settings.workDir, "Pulumi.yaml")).split(" ");
    assert.equal(args[args.indexOf("--require") + 1], PRELOAD);
    assert.equal(args[args.lastIndexOf("--require") + 1], path.join(ROOT, "pulumi", "inspect-guard.cjs"));
    assert.ok(args.includes("--max-semi-space-size=1"));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  assert.equal(
    projectRelativeNodeArgs("--import tsx -r ../x.cjs --require /abs.cjs"),
    `--import tsx -r ${path.join(path.dirname(ROOT), "x.cjs")} --require /abs.cjs`,
  );
});
