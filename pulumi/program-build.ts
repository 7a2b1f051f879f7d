/**
 * The Pulumi program (index.ts → stacks/), the policy pack (policies/) and the registry module the registration
 * provider requires at run time (db/registry.ts), built once into JavaScript in `dist/` (`npm run build`), so that no
 * run starts them through a TypeScript loader. Pulumi.yaml's `main` is `dist/index.js` and policies/package.json's
 * `main` is `../dist/policies/index.js`, so the server and a CLI user (`pulumi up -s …`) run the same build.
 *
 * esbuild, one file in, one file out (no bundle): the graph of our own modules from the entries (its metafile), each
 * transpiled to CommonJS beside the others in the same layout, so that `__dirname`, `require` of npm packages and
 * Pulumi's serialization of dynamic providers see what they saw under tsx (which is esbuild too). Types are checked by
 * `tsc --noEmit` (scripts/test); `isolatedModules` in tsconfig.json keeps a file-by-file transpile exact.
 *
 * Freshness: dist/build.json holds each source's sha256 (lib/build-fingerprint.ts). A build whose sources are unchanged
 * is left as it is; the program and the pack refuse to run from a stale one (their entries check), and so does the
 * server at start-up (server/main.ts), naming the file that changed.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import * as esbuild from "esbuild";
import {
  BUILD_MANIFEST,
  type BuildManifest,
  SERIALIZED_PROVIDERS_FILE,
  hashInputs,
  readManifest,
  staleBuildReason,
} from "../lib/build-fingerprint";
import { PROJECT_DIR } from "./workspace";

export const BUILD_DIR = path.join(PROJECT_DIR, "dist");
/** What is built, and everything it imports of ours. */
export const BUILD_ENTRIES = ["index.ts", "policies/index.ts", "db/registry.ts"];
const TARGET = "node20";
const TOOL = `esbuild ${esbuild.version} cjs ${TARGET} sourcemap, serialized providers`;

export interface BuildOutcome {
  /** false when the build was already fresh. */
  built: boolean;
  inputs: number;
  ms: number;
}

/** Builds into `dist/` unless the build there is of these very sources. */
export async function buildProgram(root = PROJECT_DIR): Promise<BuildOutcome> {
  const started = Date.now();
  const buildDir = path.join(root, "dist");
  const inputs = await sourcesOf(root);
  const hashes = hashInputs(root, inputs);
  const current = readManifest(buildDir);
  if (current && current.tool === TOOL && JSON.stringify(current.inputs) === JSON.stringify(hashes)) {
    return { built: false, inputs: inputs.length, ms: Date.now() - started };
  }
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: inputs,
    outdir: buildDir,
    outbase: ".",
    bundle: false,
    platform: "node",
    format: "cjs",
    target: TARGET,
    sourcemap: true,
    // Data the program imports (the measured memory figures) stays a file beside the modules that require it.
    loader: { ".json": "copy" },
    logLevel: "warning",
  });
  // The engine runs the program and its plugins in main's directory, dist/: @pulumi/policy reads the pack's version
  // from package.json there.
  const { name, version } = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { name: string; version: string };
  await mkdir(buildDir, { recursive: true });
  await writeFile(path.join(buildDir, "package.json"), `${JSON.stringify({ name, version, private: true }, null, 2)}\n`);
  await serializeProviders(buildDir);
  // The manifest last, and whole: a build interrupted before it is not taken for a fresh one.
  const manifest: BuildManifest = { tool: TOOL, inputs: hashes };
  const tmp = path.join(buildDir, `.${BUILD_MANIFEST}.${process.pid}`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, path.join(buildDir, BUILD_MANIFEST));
  return { built: true, inputs: inputs.length, ms: Date.now() - started };
}

/**
 * Each dynamic provider's serialized text, as the program would make it at every run (providers/typed-resource.ts),
 * made once here from the built modules, in a Node process of its own with nothing of this one's environment: a
 * provider that captured a value of the environment at load would differ from what a run makes, and the test that
 * compares the two (tests/unit/program-build.test.ts) would say so.
 */
async function serializeProviders(buildDir: string): Promise<void> {
  const registry = path.join(buildDir, "providers", "typed-resource.js");
  if (!existsSync(registry)) return; // a build without dynamic providers
  const script = `
    const path = require("node:path");
    const [dist, out] = process.argv.slice(1);
    for (const program of ["stacks/repo.js", "stacks/platform.js"]) require(path.join(dist, program));
    const { definedProviders, serializeProvider } = require(path.join(dist, "providers", "typed-resource.js"));
    (async () => {
      const texts = {};
      for (const [token, provider] of [...definedProviders()].sort(([a], [b]) => a.localeCompare(b)))
        texts[token] = await serializeProvider(token, provider);
      require("node:fs").writeFileSync(out, JSON.stringify(texts, null, 2) + "\\n");
    })().catch((err) => { console.error(err.message); process.exit(1); });`;
  const out = path.join(buildDir, "providers", SERIALIZED_PROVIDERS_FILE);
  await promisify(execFile)(process.execPath, ["-e", script, buildDir, out], {
    cwd: buildDir,
    env: { PATH: process.env.PATH ?? "" },
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`serializing the dynamic providers: ${err.stderr?.trim() || err.message}`);
  });
}

/** Our own modules the entries reach (npm packages stay outside), relative to `root`. */
async function sourcesOf(root: string): Promise<string[]> {
  const graph = await esbuild.build({
    absWorkingDir: root,
    entryPoints: BUILD_ENTRIES,
    bundle: true,
    write: false,
    metafile: true,
    packages: "external",
    platform: "node",
    format: "cjs",
    outdir: "dist",
    logLevel: "silent",
  });
  return Object.keys(graph.metafile.inputs).sort();
}

/** For the server's start-up: the build it will run must be of the sources beside it. */
export function assertProgramBuilt(buildDir = BUILD_DIR): void {
  const stale = staleBuildReason(buildDir);
  if (stale) throw new Error(`the Pulumi program's build is stale or missing: ${stale}; run npm run build`);
}
