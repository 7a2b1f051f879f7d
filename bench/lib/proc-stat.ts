import { readdirSync, readFileSync } from "node:fs";

/** What the benchmarks read of a process's /proc/<pid>/stat. */
export interface ProcStat {
  pid: number;
  /** The executable's name, as the kernel keeps it (15 characters at most). */
  comm: string;
  ppid: number;
  /** Its process group: a server started detached leads its own, with every process it started. */
  pgrp: number;
  /** When it started, in ms since boot (to the clock tick). */
  startMs: number;
}

// USER_HZ: the unit of a process's times in /proc/<pid>/stat; 100 on every Linux this runs on.
const CLOCK_TICKS_PER_S = 100;
const ticksToMs = (ticks: string) => (Number(ticks) * 1000) / CLOCK_TICKS_PER_S;

/**
 * The fields of /proc/<pid>/stat after `comm`, with `comm` itself ("pid (comm) state ppid pgrp …"): comm may hold spaces
 * and parentheses, so the fields are split after the last ')'. undefined: the process is gone (it exited between a
 * listing and the read).
 */
function statFields(pid: number): { comm: string; fields: string[] } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(")");
  return { comm: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
}

export function readProcStat(pid: number): ProcStat | undefined {
  const stat = statFields(pid);
  if (!stat) return undefined;
  const { comm, fields } = stat;
  // Field 4 of the file is fields[1]: ppid, pgrp, then utime(14th) and stime(15th) at 11 and 12, starttime(22nd) at 19.
  return { pid, comm, ppid: Number(fields[1]), pgrp: Number(fields[2]), startMs: ticksToMs(fields[19]) };
}

/**
 * The process's CPU time so far, in ms: its threads' time on a CPU from the scheduler (schedstat, in ns), which counts
 * the threads alive now; where that cannot be read, user + system time from its stat (to the clock tick, 10 ms: too
 * coarse for a PostgreSQL backend's few milliseconds of a benchmark run). undefined: the process is gone.
 */
export function cpuMsOf(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    const stat = statFields(pid);
    return stat && ticksToMs(stat.fields[11]) + ticksToMs(stat.fields[12]);
  }
}

/** Every process this user can see now. */
export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat) out.push(stat);
  }
  return out;
}
