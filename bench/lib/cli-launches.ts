/**
 * Every launch of the pulumi CLI during a benchmark, seen from outside the product: a tools directory whose
 * bin/pulumi is a small wrapper that records the command's words, its start and its end, then runs the real CLI.
 * The server finds it through MESH_SIX_TOOLS (pulumi/workspace.ts), a CLI user through PATH; nothing in the server's
 * code paths knows it is there. Only the command's words are recorded (`stack select`, `config set-all`, `up`…),
 * never its values.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface CliLaunch {
  /** The wrapper's pid: the real CLI is its only child. */
  pid: number;
  /** The command's words before its first flag, e.g. "stack output", with "--show-secrets" when given. */
  command: string;
  startMs: number;
  /** Undefined while it runs. */
  endMs?: number;
  exitCode?: number;
}

export interface LaunchRecorder {
  /** A tools directory (bin/pulumi and the rest of the real bin/ linked beside it). */
  toolsDir: string;
  /** Launches recorded since `sinceMs` (default: all), in order of start. */
  launches(sinceMs?: number): CliLaunch[];
  remove(): void;
}

const WRAPPER = `#!/usr/bin/env bash
# Written by bench/lib/cli-launches.ts: records the launch, then runs the real CLI and records its end.
words=()
for a in "$@"; do
  case $a in --show-secrets) words+=("$a") ;; -*) break ;; *) words+=("$a") ;; esac
done
printf '%s %s start %s\\n' "$(date +%s%3N)" "$$" "\${words[*]}" >> "$LAUNCH_LOG"
# A background job of a non-interactive shell starts with SIGINT and SIGQUIT ignored, and the CLI's plugins would
# inherit that: the engine stops each plugin with SIGINT, so one that ignored it would sit out the engine's 5 s
# before its kill at every close. The CLI gets the dispositions it would have had without this wrapper.
( trap - INT QUIT; exec "$REAL_PULUMI" "$@" ) &
child=$!
trap 'kill -INT "$child" 2>/dev/null' INT
trap 'kill -TERM "$child" 2>/dev/null' TERM
wait "$child"; rc=$?
# A trapped signal ends the first wait early: wait for the CLI itself.
while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
printf '%s %s end %s\\n' "$(date +%s%3N)" "$$" "$rc" >> "$LAUNCH_LOG"
exit "$rc"
`;

/** A recorder wrapping the CLI of `realTools` (a directory with bin/pulumi, as MESH_SIX_TOOLS names). */
export function recordLaunches(realTools: string): LaunchRecorder {
  const realBin = path.join(realTools, "bin");
  const real = path.join(realBin, "pulumi");
  if (!existsSync(real)) throw new Error(`no pulumi CLI at ${real}: run scripts/bootstrap`);
  const toolsDir = mkdtempSync(path.join(tmpdir(), "mesh-six-bench-tools-"));
  const bin = path.join(toolsDir, "bin");
  mkdirSync(bin);
  const log = path.join(toolsDir, "launches.log");
  writeFileSync(log, "");
  // The variables are baked in: the Automation API passes its own environment to the CLI.
  const script = WRAPPER.replaceAll('"$LAUNCH_LOG"', JSON.stringify(log)).replaceAll('"$REAL_PULUMI"', JSON.stringify(real));
  writeFileSync(path.join(bin, "pulumi"), script);
  chmodSync(path.join(bin, "pulumi"), 0o755);
  for (const name of readdirSync(realBin)) if (name !== "pulumi") symlinkSync(path.join(realBin, name), path.join(bin, name));
  return {
    toolsDir,
    launches: (sinceMs = 0) => parseLaunches(readFileSync(log, "utf8")).filter((l) => l.startMs >= sinceMs),
    remove: () => rmSync(toolsDir, { recursive: true, force: true }),
  };
}

/** The wrapper's log, "<epoch ms> <pid> start <words…>" and "<epoch ms> <pid> end <code>", as launches. */
export function parseLaunches(text: string): CliLaunch[] {
  const open = new Map<number, CliLaunch>();
  const all: CliLaunch[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+) (start|end) ?(.*)$/.exec(line);
    if (!m) continue;
    const [at, pid] = [Number(m[1]), Number(m[2])];
    if (m[3] === "start") {
      const launch: CliLaunch = { pid, command: m[4].trim(), startMs: at };
      open.set(pid, launch);
      all.push(launch);
    } else {
      const launch = open.get(pid);
      if (!launch) continue;
      launch.endMs = at;
      launch.exitCode = Number(m[4]);
      open.delete(pid);
    }
  }
  return all.sort((a, b) => a.startMs - b.startMs);
}
