/**
 * One run's timeline, from what the run itself recorded (its steps, its resources' operations, its status: the
 * run_events the server keeps) and from process accounting around it (each CLI launch, from bench/lib/cli-launches.ts;
 * each process the CLI started, with its peak RSS, from bench/lib/process-memory.ts). Every line is an offset from
 * the run's start, how long the thing took, and its peak memory where it is a process.
 */
import path from "node:path";
import type { CliLaunch } from "./cli-launches";
import type { LoggedEvent } from "./onboarding-server";
import type { SeenProcess } from "./process-memory";
import { mib } from "../../testkit/report";

export interface TimelineLine {
  atMs: number;
  durationMs?: number;
  what: string;
  peakRssBytes?: number;
}

export interface TimelineInput {
  startMs: number;
  endMs: number;
  launches: readonly CliLaunch[];
  processes: readonly SeenProcess[];
  events?: readonly LoggedEvent[];
  /** The sampling interval: a process's end is known to within it. */
  intervalMs: number;
}

/** What a process is in a Pulumi run, from its command line ("launch recorder" for the wrapper of cli-launches.ts). */
export function processRole(argv: readonly string[]): string {
  const exe = path.basename(argv[0] ?? "?");
  const script = argv
    .map((a) => /[/\\]cmd[/\\](run|run-policy-pack|run-plugin|dynamic-provider)(?:[/\\]index\.js)?$/.exec(a)?.[1])
    .find(Boolean);
  if (exe === "pulumi") return "pulumi CLI";
  if (exe === "pulumi-language-nodejs") return "language host";
  if (exe.startsWith("pulumi-resource-")) return `${exe.slice("pulumi-resource-".length)} plugin`;
  if (exe.startsWith("pulumi-analyzer-")) return `${exe.slice("pulumi-analyzer-".length)} analyzer`;
  if (exe === "node" || exe.startsWith("node")) {
    if (script === "run") return "program (node)";
    if (script === "run-policy-pack") return "policy pack (node)";
    if (script === "dynamic-provider") return "dynamic providers (node)";
    if (script === "run-plugin") return "plugin (node)";
    if (argv.includes("-p")) return "node -p (the dynamic-provider shim's lookup)";
    return "node";
  }
  if (argv.some((a) => a.endsWith("pulumi-resource-pulumi-nodejs"))) return "dynamic-provider shim (sh)";
  if (argv.some((a) => /mesh-six-bench-tools-[^/]+\/bin\/pulumi$/.test(a))) return "launch recorder";
  return exe;
}

/** The run's lines in order of time; the launch recorder's wrapper processes are shown as their launches. */
export function timeline(input: TimelineInput): TimelineLine[] {
  const lines: TimelineLine[] = [];
  const at = (ms: number) => ms - input.startMs;
  // Starts are exact (the recorder's clock, /proc's start time): nothing that began after the run is its part. What
  // began up to one interval before it is shown (the CLI baseline's config write, timed apart from its `up`).
  const inRun = (ms: number) => ms >= input.startMs - input.intervalMs && ms <= input.endMs;
  for (const launch of input.launches) {
    if (!inRun(launch.startMs)) continue;
    const cli = input.processes.find((p) => p.ppid === launch.pid && processRole(p.argv) === "pulumi CLI");
    lines.push({
      atMs: at(launch.startMs),
      durationMs: launch.endMs === undefined ? undefined : launch.endMs - launch.startMs,
      what: `CLI launch: pulumi ${launch.command}${launch.exitCode ? ` (exit ${launch.exitCode})` : ""}`,
      peakRssBytes: cli?.peakRssBytes,
    });
  }
  for (const proc of input.processes) {
    const role = processRole(proc.argv);
    if (role === "pulumi CLI" || role === "launch recorder" || !inRun(proc.startMs)) continue;
    lines.push({
      atMs: at(proc.startMs),
      durationMs: proc.lastSeenMs - proc.startMs,
      what: `↳ ${role}`,
      peakRssBytes: proc.peakRssBytes,
    });
  }
  lines.push(...eventLines(input.events ?? [], at));
  return lines.sort((a, b) => a.atMs - b.atMs);
}

function eventLines(events: readonly LoggedEvent[], at: (ms: number) => number): TimelineLine[] {
  const lines: TimelineLine[] = [];
  const time = (e: LoggedEvent) => at(Date.parse(e.at));
  const marks = events.filter((e) => e.type === "step" || e.type === "status");
  for (const [i, e] of marks.entries()) {
    const next = marks.slice(i + 1).find((m) => m.type === "step" || m.type === "status");
    if (e.type === "status") lines.push({ atMs: time(e), what: `status ${String(e.data.status)}` });
    else if (e.data.skipped) lines.push({ atMs: time(e), what: `step ${String(e.data.step)} (skipped)` });
    else lines.push({ atMs: time(e), durationMs: next ? time(next) - time(e) : undefined, what: `step ${String(e.data.step)}` });
  }
  // Operations that change nothing are many and alike: one line per operation kind, first start to last end.
  const grouped = new Map<string, { first: number; last: number; count: number }>();
  const open = new Map<string, LoggedEvent>();
  for (const e of events.filter((x) => x.type === "resource")) {
    const key = `${String(e.data.op)} ${String(e.data.urn)}`;
    if (e.data.phase === "pre") {
      open.set(key, e);
      continue;
    }
    const pre = open.get(key);
    open.delete(key);
    const start = pre ? time(pre) : time(e);
    const op = String(e.data.op);
    if (op === "same" || op === "refresh" || op === "read") {
      const g = grouped.get(op) ?? { first: start, last: time(e), count: 0 };
      g.first = Math.min(g.first, start);
      g.last = Math.max(g.last, time(e));
      g.count++;
      grouped.set(op, g);
    } else {
      const name = String(e.data.urn).split("::").at(-1);
      lines.push({
        atMs: start,
        durationMs: time(e) - start,
        what: `· ${op}${e.data.phase === "failed" ? " FAILED" : ""}: ${String(e.data.resourceType)} ${name}`,
      });
    }
  }
  for (const [op, g] of grouped) {
    lines.push({ atMs: g.first, durationMs: g.last - g.first, what: `· ${op} ×${g.count} resources (first start to last end)` });
  }
  return lines;
}

export interface RolePeak {
  role: string;
  count: number;
  peakRssBytes: number;
  peakAnonBytes: number;
}

/**
 * The peak RSS and anonymous RSS of each kind of process over the run (the largest one of each), and how many of
 * each started.
 */
export function peaksByRole(processes: readonly SeenProcess[]): RolePeak[] {
  const byRole = new Map<string, RolePeak>();
  for (const p of processes) {
    const role = processRole(p.argv);
    if (role === "launch recorder") continue;
    const r = byRole.get(role) ?? { role, count: 0, peakRssBytes: 0, peakAnonBytes: 0 };
    r.count++;
    r.peakRssBytes = Math.max(r.peakRssBytes, p.peakRssBytes);
    r.peakAnonBytes = Math.max(r.peakAnonBytes, p.peakAnonBytes);
    byRole.set(role, r);
  }
  return [...byRole.values()].sort((a, b) => b.peakRssBytes - a.peakRssBytes);
}

/** The timeline as a markdown table. */
export function renderTimeline(lines: readonly TimelineLine[]): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows = lines.map(
    (l) =>
      `| ${l.atMs < 0 ? "−" : "+"}${s(Math.abs(l.atMs))} | ${l.durationMs === undefined ? "" : s(l.durationMs)} | ${l.what} | ${l.peakRssBytes === undefined ? "" : mib(l.peakRssBytes)} |`,
  );
  return ["| at | took | what | peak RSS |", "| ---: | ---: | --- | ---: |", ...rows].join("\n");
}
