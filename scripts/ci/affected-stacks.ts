/**
 * Which stacks a pull request can change, for the preview workflow's matrix: a stack is affected when a changed file
 * is in its program's module graph (stacks/platform.ts or stacks/repo.ts and what they import), is shared by every
 * program (the entry, the project and package files, the policy pack), or is the stack's own settings file.
 *
 *   node --import tsx scripts/ci/affected-stacks.ts --changed <file listing changed paths> --stacks <`pulumi stack ls --all --json` output>
 * prints {"stack":[…]} (a matrix fragment); an empty list means nothing to preview.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { moduleGraph } from "../lib/module-graph";

// Every stack runs these: the entry picks the program, the policy pack checks every preview.
const SHARED = [/^index\.ts$/, /^Pulumi\.yaml$/, /^package(-lock)?\.json$/, /^tsconfig\.json$/, /^policies\//];

/** Repo stacks are named `<owner>.<repo>`; platform stacks have no dot (domain/names.ts). */
export const isRepoStack = (stack: string): boolean => stack.includes(".");

export function affectedStacks(changed: readonly string[], stacks: readonly string[]): string[] {
  const platform = moduleGraph(["stacks/platform.ts"]).files;
  const repo = moduleGraph(["stacks/repo.ts"]).files;
  const hit = (graph: Set<string>) => changed.some((f) => graph.has(f) || SHARED.some((re) => re.test(f)));
  const platformHit = hit(platform);
  const repoHit = hit(repo);
  return stacks.filter((stack) => (isRepoStack(stack) ? repoHit : platformHit) || changed.includes(`Pulumi.${stack}.yaml`)).sort();
}

function main(): void {
  const { values } = parseArgs({ options: { changed: { type: "string" }, stacks: { type: "string" } } });
  if (!values.changed || !values.stacks) throw new Error("usage: affected-stacks.ts --changed <file> --stacks <file>");
  const changed = readFileSync(values.changed, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  // `pulumi stack ls --json` names DIY-backend stacks `organization/<project>/<stack>` on newer CLIs: keep the last part.
  const listed = (JSON.parse(readFileSync(values.stacks, "utf8")) as { name: string }[]).map((s) => s.name.split("/").at(-1)!);
  process.stdout.write(`${JSON.stringify({ stack: affectedStacks(changed, listed) })}\n`);
}

if (require.main === module) main();
