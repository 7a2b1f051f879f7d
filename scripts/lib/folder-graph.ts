/**
 * The project's folders and the imports between them, measured from the code: each top-level folder (and each root
 * .ts file) is a node, and an arrow A → B counts the relative imports from files under A into files under B.
 * docs/ARCHITECTURE.md's layers are checked against it (tests/unit/architecture-doc.test.ts) and `npm run layout`
 * prints it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { PROJECT_ROOT } from "./module-graph";

const SKIPPED = new Set(["node_modules", ".tools", ".sandbox", ".git", "dist", ".data", ".pulumi-state"]);

export interface FolderGraph {
  /** Top-level folders holding .ts files (with a trailing "/") and root .ts files. */
  nodes: string[];
  /** `from → to → number of import statements`, arrows within one node left out. */
  arrows: Map<string, Map<string, number>>;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(e.name)) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(full));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** The node a project-relative path belongs to: its top-level folder, or itself for a root file. */
export function nodeOf(relative: string): string {
  const slash = relative.indexOf("/");
  return slash === -1 ? relative : relative.slice(0, slash + 1);
}

export function folderGraph(root = PROJECT_ROOT): FolderGraph {
  const nodes = new Set<string>();
  const arrows = new Map<string, Map<string, number>>();
  for (const file of tsFiles(root)) {
    const from = nodeOf(path.relative(root, file));
    nodes.add(from);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const target = path.relative(root, path.resolve(path.dirname(file), fileName));
      if (target.startsWith("..")) continue;
      const to = nodeOf(target);
      if (to === from) continue;
      const row = arrows.get(from) ?? new Map<string, number>();
      row.set(to, (row.get(to) ?? 0) + 1);
      arrows.set(from, row);
    }
  }
  return { nodes: [...nodes].sort(), arrows };
}

/**
 * Each node's floor: 1 for a node that imports nothing of ours, else one above the highest node it imports. Nodes on a
 * cycle get no floor and are returned in `cycle` instead.
 */
export function floors(graph: FolderGraph): { floor: Map<string, number>; cycle: string[] } {
  const floor = new Map<string, number>();
  const visiting = new Set<string>();
  const cycle = new Set<string>();
  const visit = (node: string): number | undefined => {
    if (floor.has(node)) return floor.get(node);
    if (visiting.has(node)) {
      cycle.add(node);
      return undefined;
    }
    visiting.add(node);
    let highest = 0;
    let broken = false;
    for (const to of graph.arrows.get(node)?.keys() ?? []) {
      const f = visit(to);
      if (f === undefined) broken = true;
      else highest = Math.max(highest, f);
    }
    visiting.delete(node);
    if (broken) {
      cycle.add(node);
      return undefined;
    }
    floor.set(node, highest + 1);
    return highest + 1;
  };
  for (const node of graph.nodes) visit(node);
  return { floor, cycle: [...cycle].sort() };
}

function main(): void {
  const graph = folderGraph();
  const { floor, cycle } = floors(graph);
  const byFloor = [...graph.nodes].sort((a, b) => (floor.get(b) ?? 99) - (floor.get(a) ?? 99) || a.localeCompare(b));
  for (const node of byFloor) {
    const to = [...(graph.arrows.get(node) ?? new Map<string, number>())].sort(
      (a, b) => (floor.get(b[0]) ?? 0) - (floor.get(a[0]) ?? 0) || a[0].localeCompare(b[0]),
    );
    const label = floor.has(node) ? `floor ${floor.get(node)}` : "on a cycle";
    console.log(`${node.padEnd(14)} ${label.padEnd(10)} → ${to.map(([t, n]) => `${t} ${n}`).join(", ") || "nothing"}`);
  }
  const count = [...graph.arrows.values()].reduce((sum, row) => sum + row.size, 0);
  console.log(
    `${graph.nodes.length} folders and root files, ${count} arrows, ${cycle.length === 0 ? "no cycle: every arrow points down" : `a cycle through ${cycle.join(", ")}`}`,
  );
  if (cycle.length > 0) process.exitCode = 1;
}

if (require.main === module) main();
