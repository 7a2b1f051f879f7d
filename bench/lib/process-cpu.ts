/**
 * CPU time per unit of work, by process: what each side of a benchmark costs, read from /proc before and after (the
 * scheduler's time on a CPU of each thread, bench/lib/proc-stat.ts). On a shared machine of 2 cores, wall-clock rates
 * move with whatever else runs; the CPU a task costs each process does not, and when the machine is the bottleneck it
 * is what the rates follow.
 */
import { allProcesses, cpuMsOf, type ProcStat } from "./proc-stat";

/** Which processes make up each group (a process in none is not counted). */
export type CpuGroups = Record<string, (p: ProcStat) => boolean>;

export const processGroupOf =
  (pgid: number) =>
  (p: ProcStat): boolean =>
    p.pgrp === pgid;
export const processPid =
  (pid: number) =>
  (p: ProcStat): boolean =>
    p.pid === pid;
export const thisProcess = processPid(process.pid);
/** PostgreSQL's server processes (the postmaster and every backend). */
export const postgresServer = (p: ProcStat): boolean => p.comm === "postgres";

/** Each group's processes' CPU ms so far, by process (its pid and start, so that a reused pid is another process). */
export type CpuSample = Record<string, Map<string, number>>;

export function sampleCpu(groups: CpuGroups): CpuSample {
  const out: CpuSample = Object.fromEntries(Object.keys(groups).map((g) => [g, new Map<string, number>()]));
  for (const p of allProcesses()) {
    const group = Object.keys(groups).find((g) => groups[g](p));
    if (group === undefined) continue;
    const ms = cpuMsOf(p.pid);
    if (ms !== undefined) out[group].set(`${p.pid}@${p.startMs}`, ms);
  }
  return out;
}

/**
 * µs of CPU per item between two samples, by group, and their total: each process's time since the first sample (all
 * of it for one started since). A process gone by the second sample is left out: what it spent in between is no
 * longer readable (here, PostgreSQL backends an idle pool closed, which spent next to nothing).
 */
export function cpuPerItem(before: CpuSample, after: CpuSample, items: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [group, processes] of Object.entries(after)) {
    let ms = 0;
    for (const [key, now] of processes) ms += now - (before[group]?.get(key) ?? 0);
    out[group] = (ms * 1000) / items;
    total += out[group];
  }
  return { ...out, total };
}
