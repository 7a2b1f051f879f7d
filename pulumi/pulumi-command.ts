import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import * as cmdModule from "@pulumi/pulumi/automation/cmd";
import * as errorsModule from "@pulumi/pulumi/automation/errors";
import sdkPackage from "@pulumi/pulumi/package.json";
import type { KnownAnswers } from "./known-answers";

/**
 * The Pulumi CLI as one run's commands see it. The Automation API passes an abort signal only to the stack
 * operations (up, preview, refresh, destroy); the workspace's own commands (`stack select`, `config set-all`, …)
 * run to completion whatever happens, and nothing can kill a CLI that does not stop on SIGINT. Every command run
 * through this one gets SIGINT when `stop` fires (the CLI's graceful stop: it finishes in-flight operations and
 * writes the state), and its whole process group (the CLI with its plugins and program) SIGKILL when `kill` fires.
 */
export interface CommandSignals {
  stop?: AbortSignal;
  kill?: AbortSignal;
}

// Not in the published typings (marked internal), but what every workspace and stack command calls.
type Run = (
  args: string[],
  cwd: string,
  additionalEnv: Record<string, string>,
  onOutput?: (data: string) => void,
  onError?: (data: string) => void,
  signal?: AbortSignal,
) => Promise<unknown>;
const { CommandResult } = cmdModule as unknown as {
  CommandResult: new (stdout: string, stderr: string, code: number, err?: Error) => unknown;
};
const { createCommandError } = errorsModule as unknown as { createCommandError: (result: unknown) => Error };

// Process groups of commands still running: a process that exits (even by process.exit) takes them with it.
const running = new Set<number>();
process.once("exit", () => {
  for (const pid of running) killGroup(pid);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

// One `pulumi version` per CLI and process, not one per command: the Automation API's own check is skipped (it would
// accept any CLI newer than its minimum); checkPulumiCli holds the CLI to the SDK's pinned version instead.
const found = new Map<string, Promise<PulumiCommand>>();

function cliAt(root: string | undefined): Promise<PulumiCommand> {
  let get = found.get(root ?? "");
  if (!get) {
    get = PulumiCommand.get({ ...(root ? { root } : {}), skipVersionCheck: true });
    get.catch(() => found.delete(root ?? ""));
    found.set(root ?? "", get);
  }
  return get;
}

/** The SDK's version (package.json's pin): the CLI must be of its major version and at least as new. */
const SDK_VERSION = sdkPackage.version;

/**
 * For the server's start-up: the CLI at `root` (or on PATH) is of the SDK's major version and not older than it
 * (README: a CLI already on PATH at the pinned version or newer is used), else this throws naming both versions.
 * Its answer is kept: no run launches `pulumi version` again.
 */
export async function checkPulumiCli(root: string | undefined): Promise<{ command: string; version: string }> {
  const cli = await cliAt(root);
  const version = cli.version?.version;
  const [major, minor, patch] = SDK_VERSION.split(".").map(Number);
  const v = cli.version;
  const ok = v !== null && v.major === major && (v.minor > minor || (v.minor === minor && v.patch >= patch));
  if (!ok)
    throw new Error(
      `the pulumi CLI at ${cli.command} is ${version ?? "of an unknown version"}; this project needs ${major}.x at ${SDK_VERSION} or newer`,
    );
  return { command: cli.command, version: version! };
}

/**
 * A PulumiCommand (the CLI at `root`, or on PATH) whose commands honour `signals`, and which answers the commands
 * whose answer `answers` already knows without launching the CLI.
 */
export async function signalledCommand(root: string | undefined, signals: CommandSignals, answers?: KnownAnswers): Promise<PulumiCommand> {
  const base = await cliAt(root);
  const run: Run = (args, cwd, additionalEnv, onOutput, onError, signal) => {
    const known = answers?.answer(args);
    if (known !== undefined) return Promise.resolve(new CommandResult(known, "", 0));
    return exec(base.command, args, cwd, additionalEnv, {
      onOutput,
      onError,
      stop: signal ? AbortSignal.any([signal, ...given(signals.stop)]) : signals.stop,
      kill: signals.kill,
    });
  };
  return Object.assign(Object.create(base) as PulumiCommand, { run });
}

function given(signal: AbortSignal | undefined): AbortSignal[] {
  return signal ? [signal] : [];
}

/** The Automation API's exec (same arguments, environment and errors), in its own process group. */
function exec(
  command: string,
  args: string[],
  cwd: string,
  additionalEnv: Record<string, string>,
  opts: { onOutput?: (data: string) => void; onError?: (data: string) => void; stop?: AbortSignal; kill?: AbortSignal },
): Promise<unknown> {
  if (!args.includes("--non-interactive")) args.push("--non-interactive");
  const env: NodeJS.ProcessEnv = { ...process.env, ...additionalEnv, PULUMI_AUTOMATION_API: "true" };
  if (path.isAbsolute(command)) env.PATH = `${path.dirname(command)}${path.delimiter}${additionalEnv.PATH ?? process.env.PATH ?? ""}`;
  return new Promise((resolve, reject) => {
    if (opts.kill?.aborted) return reject(createCommandError(new CommandResult("", "killed before it started", -2)));
    // Detached: its own process group, so that a kill reaches the plugins and the program it started.
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out.push(d);
      opts.onOutput?.(d);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err.push(d);
      opts.onError?.(d);
    });
    const interrupt = () => child.kill("SIGINT");
    const kill = () => pid !== undefined && killGroup(pid);
    if (opts.stop?.aborted) interrupt();
    else opts.stop?.addEventListener("abort", interrupt, { once: true });
    if (opts.kill?.aborted) kill();
    else opts.kill?.addEventListener("abort", kill, { once: true });
    let settled = false;
    const settle = (code: number, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      if (pid !== undefined) running.delete(pid);
      opts.stop?.removeEventListener("abort", interrupt);
      opts.kill?.removeEventListener("abort", kill);
      // What the CLI started may outlive it (a plugin it did not reap): nothing of a finished command runs on.
      if (pid !== undefined) killGroup(pid);
      const result = new CommandResult(out.join(""), spawnError ? spawnError.message : err.join(""), code, spawnError);
      if (code === 0) resolve(result);
      else reject(createCommandError(result));
    };
    child.once("error", (e) => settle(-2, e));
    child.once("close", (code, signal) => settle(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -2)));
  });
}
