/**
 * The project's own TypeScript modules reachable from some entry files through their imports, and the npm packages
 * those modules import. Used to decide what an image must contain and which stacks a change can affect.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");

export interface ModuleGraph {
  /** Project-relative paths of every module reached, the entries included. */
  files: Set<string>;
  /** Package names (scoped names whole) imported by any of them; `node:` built-ins left out. */
  packages: Set<string>;
}

export function moduleGraph(entries: readonly string[], root = PROJECT_ROOT): ModuleGraph {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = entries.map((e) => path.resolve(root, e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    const relative = path.relative(root, file);
    if (files.has(relative)) continue;
    files.add(relative);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith(".")) {
        const base = path.resolve(path.dirname(file), fileName);
        const resolved = [`${base}.ts`, path.join(base, "index.ts"), base].find((f) => f.endsWith(".ts") && existsSync(f));
        if (resolved) queue.push(resolved);
      } else if (!fileName.startsWith("node:")) {
        packages.add(fileName.startsWith("@") ? fileName.split("/").slice(0, 2).join("/") : fileName.split("/")[0]);
      }
    }
  }
  return { files, packages };
}
