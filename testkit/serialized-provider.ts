import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_DIR } from "../pulumi/workspace";

/**
 * A dynamic provider as Pulumi runs it: its closure serialized, loaded from that text in a process of its own (plain
 * Node.js, without tsx, from the project directory, with only the environment given), and one operation per process.
 * What a provider needs and cannot carry in its closure then fails here, as it would in a real run.
 */
export interface SerializedProvider {
  /** Calls `op` with these arguments (JSON values) and answers its result. */
  call(op: string, ...args: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

export async function serializedProvider(
  provider: pulumi.dynamic.ResourceProvider,
  env: Record<string, string>,
): Promise<SerializedProvider> {
  const dir = await mkdtemp(path.join(tmpdir(), "mesh-six-provider-"));
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const closure = path.join(dir, "provider.js");
  await writeFile(closure, serialized.text);
  const requireFromString = require.resolve("require-from-string", { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] });
  // What the dynamic-provider entry does with the closure text, then the operation named on the command line.
  const driver = `
    const text = require("node:fs").readFileSync(${JSON.stringify(closure)}, "utf8");
    const provider = require(${JSON.stringify(requireFromString)})(text).handler();
    const [op, args] = process.argv.slice(1);
    provider[op](...JSON.parse(args)).then((r) => console.log(JSON.stringify(r ?? null)), (e) => { console.error(e.message); process.exit(1); });`;
  return {
    async call(op, ...args) {
      const { stdout } = await execFileAsync(process.execPath, ["-e", driver, op, JSON.stringify(args)], {
        cwd: PROJECT_DIR,
        env: { PATH: process.env.PATH ?? "", ...env },
      });
      return JSON.parse(stdout) as unknown;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
