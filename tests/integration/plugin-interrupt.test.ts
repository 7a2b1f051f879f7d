import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

// The engine closes a plugin with SIGINT and kills it only 5 s later. Started with SIGINT ignored (every background
// job of a non-interactive shell is: `pulumi up &` in a CI script), a plugin that relied on the default disposition
// sat out those 5 s at every close, several times per run. Our language host and dynamic-provider launcher must
// leave at SIGINT whatever disposition they inherited: Go keeps an inherited ignore unless the program asks for the
// signal (the host does, before it prints its port); Node resets every disposition at start (the launcher relies on that).

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(process.env.MESH_SIX_TOOLS ?? path.join(ROOT, ".tools"), "bin");
// Well under the engine's 5 s: what a plugin that ignores SIGINT would take is the engine's kill.
const LEAVES_WITHIN_MS = 4000;

async function interruptAfterPort(
  executable: string,
): Promise<{ port: number; code: number | null; signal: string | null; left: boolean }> {
  // `trap '' INT` makes SIGINT ignored for what the shell execs, as a background job's is.
  const child = spawn("sh", ["-c", 'trap "" INT; exec "$0" "$@"', executable, "127.0.0.1:1"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MESH_SIX_ROOT: ROOT },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const line = /^(\d+)\s*$/m.exec(out);
      if (line) resolve(Number(line[1]));
    });
    void exited.then(({ code }) => reject(new Error(`${executable} exited (${code}) before printing its port: ${stderr}`)));
  });
  child.kill("SIGINT");
  const outcome = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(resolve, LEAVES_WITHIN_MS))]);
  if (!outcome) child.kill("SIGKILL");
  const ended = outcome ?? (await exited);
  return { port, ...ended, left: outcome !== undefined };
}

for (const plugin of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) {
  test(`${plugin} started with SIGINT ignored serves its port and leaves at SIGINT`, async () => {
    const result = await interruptAfterPort(path.join(BIN, plugin));
    assert.ok(result.port > 0, `a port: ${result.port}`);
    assert.ok(result.left, `${plugin} was still running ${LEAVES_WITHIN_MS} ms after SIGINT (it had to be killed)`);
  });
}
