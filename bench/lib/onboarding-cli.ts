/**
 * The baseline a user has without the server: the `pulumi` CLI on the project, on the same backend, with the
 * same passphrase, database and config as the server's runs (`pulumi up --yes --skip-preview -s <stack>`).
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { POLICY_PACK_DIR, PROJECT_DIR, selectRepoStack, selectStack, workspaceSettings } from "../../pulumi/workspace";
import type { RepoRef } from "../../domain/names";
import { BENCH_PUBLIC_URL, type PulumiEnv } from "./onboarding-server";
import { type MemoryPeaks, type SeenProcess, watchProcessTree } from "./process-memory";

export interface CliRun {
  /** When the command was started (epoch ms). */
  startedAtMs: number;
  ms: number;
  /** The pulumi CLI and everything it started. */
  memory: MemoryPeaks;
  /** Each process it started, with its peak RSS. */
  processes: SeenProcess[];
}

function settingsFor(env: PulumiEnv) {
  const settings = workspaceSettings({ ...process.env, ...env });
  settings.envVars = { ...settings.envVars, ...env };
  return settings;
}

/**
 * Creates the repo's stack and writes its config exactly as the server's runs do (workspace.selectRepoStack,
 * with the server's public URL), so that the timed `up` runs the same program with the same config.
 */
export async function configureRepoStack(env: PulumiEnv, ref: RepoRef): Promise<{ stackName: string; ms: number }> {
  const started = performance.now();
  const stack = await selectRepoStack({ ...ref, displayName: ref.repo, serverUrl: BENCH_PUBLIC_URL }, settingsFor(env));
  return { stackName: stack.name, ms: performance.now() - started };
}

/** Creates a stack of the project and sets its config (plain values). */
export async function configureStack(env: PulumiEnv, stackName: string, config: Record<string, string>): Promise<void> {
  const stack = await selectStack(stackName, settingsFor(env));
  await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
}

/** No single command of the benchmark takes this long even on a loaded machine; past it, it is stuck. */
const COMMAND_TIMEOUT_MS = 15 * 60_000;

/** `pulumi <args>` in the project as a user runs it, timed, with the memory of its process tree sampled. */
export function runPulumi(env: PulumiEnv, args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const startedAtMs = Date.now();
    const child = spawn("pulumi", [...args, "--non-interactive", "--color", "never"], {
      cwd: PROJECT_DIR,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: COMMAND_TIMEOUT_MS,
    });
    const watch = watchProcessTree(child.pid!, undefined, { runOnly: true });
    // Kept for the error message only: a failing `up` says why on its last lines.
    let tail = "";
    const keep = (chunk: Buffer) => (tail = (tail + chunk.toString("utf8")).slice(-4000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      const memory = watch.stop();
      if (code === 0) resolve({ startedAtMs, ms, memory, processes: watch.processes() });
      else reject(new Error(`pulumi ${args.join(" ")} exited ${code}:\n${tail}`));
    });
  });
}

/**
 * `pulumi up` of a configured stack under the project's policy pack, as the server's runs and the deploy workflow
 * run it; with "no-op" the CLI fails if the update would change anything.
 */
export const cliUp = (env: PulumiEnv, stackName: string, expect: "first" | "no-op" = "first") =>
  runPulumi(env, [
    "up",
    "--yes",
    "--skip-preview",
    "--stack",
    stackName,
    "--policy-pack",
    POLICY_PACK_DIR,
    ...(expect === "no-op" ? ["--expect-no-changes"] : []),
  ]);

/** Destroys a stack's resources, then removes the stack and its config file (a stack never created: nothing to do). */
export async function cliDestroy(env: PulumiEnv, stackName: string): Promise<void> {
  try {
    await runPulumi(env, ["destroy", "--yes", "--skip-preview", "--stack", stackName]);
  } catch (err) {
    if (/no stack named/i.test((err as Error).message)) return;
    throw err;
  }
  await runPulumi(env, ["stack", "rm", "--yes", "--stack", stackName]);
}
