import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { floors, folderGraph } from "../../scripts/lib/folder-graph";

// docs/ARCHITECTURE.md is the architecture as the code has it; these checks keep it so. Every source folder must be
// in its folder map, every repo path it names in backticks must exist, and each folder's imports must stay within
// what the map says that folder may import.

const ROOT = path.resolve(__dirname, "../..");
const DOC = "docs/ARCHITECTURE.md";
const text = readFileSync(path.join(ROOT, DOC), "utf8");

/** Never part of the project's source: dependencies, local toolchain and sandbox, build output, git. */
const SKIPPED = new Set(["node_modules", ".tools", ".sandbox", "dist", ".git"]);

// What .gitignore names by plain name (e.g. `.data/`, `.pulumi-state/`) is made at run time: a checkout may or may
// not have it, so a path into it is never judged.
const IGNORED = new Set(
  readFileSync(path.join(ROOT, ".gitignore"), "utf8")
    .split("\n")
    .map((l) => l.trim().replace(/\/$/, ""))
    .filter((l) => /^[A-Za-z0-9._-]+$/.test(l)),
);

function isSkipped(name: string): boolean {
  return SKIPPED.has(name) || IGNORED.has(name);
}

function entries(dir: string) {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).filter((e) => !isSkipped(e.name));
}

function hasTsFiles(dir: string): boolean {
  return entries(dir).some((e) => (e.isDirectory() ? hasTsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts")));
}

/** Every file and folder of the project, relative to the root, folders ending in "/". */
function walk(dir = ""): string[] {
  const out: string[] = [];
  for (const e of entries(dir || ".")) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${rel}/`, ...walk(rel));
    else out.push(rel);
  }
  return out;
}

/** The document without its fenced blocks (the proposed layout there names folders that do not exist yet). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "");
}

function section(markdown: string, heading: RegExp): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^## /.test(l) && heading.test(l));
  assert.notEqual(start, -1, `${DOC} has no "## …" section matching ${heading}`);
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start, end === -1 ? undefined : end).join("\n");
}

function backticked(markdown: string): string[] {
  return [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
}

const folderMap = section(text, /folder map/i);

test("every top-level source folder, every folder holding .ts files one level below, and every root .ts file has a row in the folder map", () => {
  const expected: string[] = [];
  for (const e of entries(".")) {
    if (e.isFile() && e.name.endsWith(".ts")) expected.push(e.name);
    if (!e.isDirectory() || !hasTsFiles(e.name)) continue;
    expected.push(`${e.name}/`);
    for (const sub of entries(e.name)) {
      const rel = `${e.name}/${sub.name}`;
      if (sub.isDirectory() && entries(rel).some((f) => f.isFile() && f.name.endsWith(".ts"))) expected.push(`${rel}/`);
    }
  }
  assert.ok(expected.includes("server/"), "the walk found the source folders");
  const rows = allowedImports();
  const missing = expected.filter((f) => !rows.has(f));
  assert.deepEqual(missing, [], `give each of these a row of its own in the folder map of ${DOC}`);
});

// A span is a repo path when it is written like one (no spaces, placeholders, URL or absolute path) and either starts
// with an entry of the repository's root, or ends in a file extension the project uses, or is a bare folder name
// ending in "/". A bare extension (`.ts`) is none.
const PATH_LIKE = /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/;
const EXTENSIONS = /\.(ts|cjs|mjs|js|json|sql|md|yaml|yml|sh|go|mod)$/;

test("every repo path the document names in backticks exists", () => {
  const all = walk();
  const rootEntries = new Set(entries(".").map((e) => e.name));
  const basenames = new Set(all.map((p) => (p.endsWith("/") ? `${path.basename(p)}/` : path.basename(p))));
  const checked: string[] = [];
  const absent: string[] = [];
  for (const span of new Set(backticked(prose(text)))) {
    if (!PATH_LIKE.test(span) || span.startsWith("..") || (/^\.[a-z0-9]+$/.test(span) && !rootEntries.has(span))) continue;
    const first = span.split("/")[0];
    if (isSkipped(first)) continue;
    const nested = span.replace(/\/$/, "").includes("/");
    if (nested) {
      // Other nested names (`mesh-six/platform`, a Vault path) are paths of something else unless they name a file.
      if (!rootEntries.has(first) && !EXTENSIONS.test(span)) continue;
      checked.push(span);
      const target = path.join(ROOT, span);
      if (!existsSync(target) || (span.endsWith("/") && !statSync(target).isDirectory())) absent.push(span);
    } else if (span.endsWith("/") || EXTENSIONS.test(span) || rootEntries.has(span)) {
      // A bare name (`runner.ts`, `routes/`) stands inside a row that gives its folder: some file or folder has it.
      checked.push(span);
      if (!rootEntries.has(span) && !basenames.has(span)) absent.push(span);
    }
  }
  assert.ok(checked.length > 50, `the document names repo paths (found ${checked.length})`);
  assert.deepEqual(absent, [], `${DOC} names paths that do not exist`);
});

/** The folder map's table: folder (or root file) → the folders it may import; undefined for "everything". */
function allowedImports(): Map<string, Set<string> | undefined> {
  const rows = new Map<string, Set<string> | undefined>();
  for (const line of folderMap.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line.split(" | ");
    const owner = backticked(cells[0])[0];
    const may = cells[cells.length - 1];
    rows.set(owner, /everything/.test(may) ? undefined : new Set(backticked(may).filter((s) => s.endsWith("/") || s.endsWith(".ts"))));
  }
  return rows;
}

/** The row a file belongs to: the deepest folder of the map holding it, or the root file itself. */
function ownerOf(file: string, owners: string[]): string | undefined {
  if (owners.includes(file)) return file;
  return owners.filter((o) => o.endsWith("/") && file.startsWith(o)).sort((a, b) => b.length - a.length)[0];
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(path.join(ROOT, from)), spec);
  const found = [`${base}.ts`, path.join(base, "index.ts"), base].find((f) => existsSync(f) && statSync(f).isFile());
  return found && path.relative(ROOT, found).split(path.sep).join("/");
}

test("each folder imports only the folders the map says it may import", () => {
  const rows = allowedImports();
  const owners = [...rows.keys()];
  assert.ok(owners.length > 20, `the folder map is a table with one row per folder (found ${owners.length})`);
  const breaches: string[] = [];
  for (const file of walk().filter((f) => /\.(ts|cjs|mjs)$/.test(f))) {
    const owner = ownerOf(file, owners);
    if (owner === undefined) continue;
    const allowed = rows.get(owner);
    if (allowed === undefined) continue;
    const { importedFiles } = ts.preProcessFile(readFileSync(path.join(ROOT, file), "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const target = resolveImport(file, fileName);
      const targetOwner = target && ownerOf(target, owners);
      if (!targetOwner || targetOwner === owner || allowed.has(targetOwner)) continue;
      breaches.push(`${file} imports ${target} (${owner} → ${targetOwner})`);
    }
  }
  assert.deepEqual(breaches, [], `add the arrow to the folder map of ${DOC}, or remove the import`);
});

test("the folders' imports form no cycle: every arrow points down (npm run layout)", () => {
  const graph = folderGraph(ROOT);
  assert.ok(graph.nodes.includes("domain/") && graph.nodes.includes("server/"), "the graph found the source folders");
  const { floor, cycle } = floors(graph);
  assert.deepEqual(cycle, [], "folders on an import cycle");
  for (const [from, row] of graph.arrows) {
    for (const to of row.keys()) assert.ok(floor.get(from)! > floor.get(to)!, `${from} → ${to} points up`);
  }
});
