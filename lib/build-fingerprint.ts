/**
 * A build's manifest and its freshness: the sources a build was made from, by content, so that JavaScript built from
 * older sources is refused rather than run. Reads files only (node: built-ins); the build itself is elsewhere.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** Written into the build directory, beside the JavaScript. */
export const BUILD_MANIFEST = "build.json";
/** The dynamic providers' serialized texts, made by the build (providers/typed-resource.ts), in dist/providers/. */
export const SERIALIZED_PROVIDERS_FILE = "serialized-providers.json";

export interface BuildManifest {
  /** What built it and how (e.g. "esbuild 0.28.2 cjs node20"): another tool or setting is another build. */
  tool: string;
  /** Each source (relative to the sources' root, the build directory's parent) → sha256 of its content. */
  inputs: Record<string, string>;
}

/** The sha256 of each of `inputs` (paths relative to `root`) as they are now; "missing" for one that is gone. */
export function hashInputs(root: string, inputs: readonly string[]): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const input of [...inputs].sort()) {
    const file = path.join(root, input);
    hashes[input] = existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "missing";
  }
  return hashes;
}

export function readManifest(buildDir: string): BuildManifest | undefined {
  const file = path.join(buildDir, BUILD_MANIFEST);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as BuildManifest;
}

/** Why the build in `buildDir` does not match its sources now (undefined: it does), naming the first changed source. */
export function staleBuildReason(buildDir: string): string | undefined {
  const manifest = readManifest(buildDir);
  if (!manifest) return `${buildDir} holds no build (no ${BUILD_MANIFEST})`;
  const now = hashInputs(path.dirname(buildDir), Object.keys(manifest.inputs));
  const changed = Object.keys(manifest.inputs).find((input) => now[input] !== manifest.inputs[input]);
  if (!changed) return undefined;
  return `${changed} ${now[changed] === "missing" ? "is gone" : "changed"} since ${buildDir} was built`;
}

/**
 * Refuses to go on when `entryFile` (an entry's own __filename) runs from a build whose sources have changed since:
 * what runs must be what the sources say. An entry run from its TypeScript source has nothing to check.
 */
export function assertFreshBuild(entryFile: string, rebuild = "npm run build"): void {
  if (entryFile.endsWith(".ts")) return;
  let dir = path.dirname(entryFile);
  while (!existsSync(path.join(dir, BUILD_MANIFEST))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`${entryFile} is not part of a build (no ${BUILD_MANIFEST} above it): run ${rebuild}`);
    dir = up;
  }
  const stale = staleBuildReason(dir);
  if (stale) throw new Error(`the build is stale: ${stale}. Run ${rebuild}`);
}
