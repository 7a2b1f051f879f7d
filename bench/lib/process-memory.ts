/**
 * Resident memory of a process and of everything it started (for the onboarding server: the pulumi CLI, its
 * language host, the node program, the policy pack, the provider plugins, the dynamic providers), read from /proc
 * at a fixed interval. Linux only, like the sandbox. A process that lives shorter than one interval can be missed;
 * the peaks are therefore lower bounds, which is what sampling tools (ps, top) report too. Each process seen is also
 * kept with its command line, its start (from /proc, exact to the clock tick) and when it was last seen, for the
 * run timelines (bench/lib/run-timeline.ts).
 */
import { readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { allProcesses } from "./proc-stat";

export interface MemoryPeaks {
  /** Highest VmRSS of the watched process itself. */
  rootBytes: number;
  /** Highest sum, at one sample, of VmRSS over its descendants (with `runOnly`, those of a run: isPulumiCli below). */
  descendantsBytes: number;
  /** Highest sum, at one sample, of the process and its descendants together. */
  totalBytes: number;
  /**
   * Highest sum, at one sample, of the descendants' anonymous resident memory (RssAnon: heaps, stacks; what a run
   * adds for each one more at once, since the binaries' pages are shared).
   */
  descendantsAnonBytes: number;
  /**
   * Highest, at one sample, of the descendants' resident memory with file-backed pages counted once per executable
   * (the largest RssFile among the processes of one binary: its text, read-only data and the files it maps, which
   * the page cache holds once however many processes map them): what a cgroup holding only this run is charged.
   */
  descendantsSharedOnceBytes: number;
  /** The two above with the watched process included (for a watched `pulumi` CLI, itself part of the run). */
  totalAnonBytes: number;
  totalSharedOnceBytes: number;
  samples: number;
}

/** One descendant of the watched process, as the samples saw it. */
export interface SeenProcess {
  pid: number;
  ppid: number;
  argv: string[];
  /** When it started (epoch ms, from its start time in /proc: exact to the 10 ms clock tick). */
  startMs: number;
  /** The last sample that saw it (epoch ms): it ended within one interval after. */
  lastSeenMs: number;
  peakRssBytes: number;
  /** Its highest anonymous resident memory (RssAnon). */
  peakAnonBytes: number;
}

export interface MemoryWatch {
  /** Stops sampling (after one last sample) and returns the peaks seen. */
  stop(): MemoryPeaks;
  /** Every descendant seen so far, in order of start. */
  processes(): SeenProcess[];
}

/** Samples `pid` and its descendants every `intervalMs` until stop(). */
export function watchProcessTree(pid: number, intervalMs = 250, opts: { runOnly?: boolean } = {}): MemoryWatch {
  const peaks: MemoryPeaks = {
    rootBytes: 0,
    descendantsBytes: 0,
    totalBytes: 0,
    descendantsAnonBytes: 0,
    descendantsSharedOnceBytes: 0,
    totalAnonBytes: 0,
    totalSharedOnceBytes: 0,
    samples: 0,
  };
  const seen = new Map<string, SeenProcess>();
  const sample = () => {
    const rootResident = residentOf(pid);
    if (rootResident === undefined) return; // gone: nothing left to see
    const root = rootResident.rss;
    const now = Date.now();
    let children = 0;
    let anon = 0;
    const filesByBinary = new Map<string, number>();
    // Parents come before their children in the listing.
    const inRun = new Map<number, boolean>([[pid, !opts.runOnly || isPulumiCli(executableOf(pid))]]);
    for (const child of descendantsOf(pid)) {
      const resident = residentOf(child.pid);
      if (resident === undefined) continue;
      const { rss } = resident;
      const binary = executableOf(child.pid);
      const counted = isPulumiCli(binary) || (inRun.get(child.ppid) ?? false);
      inRun.set(child.pid, counted);
      if (counted) {
        children += rss;
        anon += resident.anon;
        filesByBinary.set(binary, Math.max(filesByBinary.get(binary) ?? 0, resident.file));
      }
      // A pid is only reused after its process is gone: the start time tells two of them apart.
      const key = `${child.pid}@${child.startMs}`;
      const known = seen.get(key);
      if (known) {
        known.lastSeenMs = now;
        known.peakRssBytes = Math.max(known.peakRssBytes, rss);
        known.peakAnonBytes = Math.max(known.peakAnonBytes, resident.anon);
      } else {
        seen.set(key, { ...child, argv: argvOf(child.pid), lastSeenMs: now, peakRssBytes: rss, peakAnonBytes: resident.anon });
      }
    }
    const filesOnce = (files: Map<string, number>) => [...files.values()].reduce((a, b) => a + b, 0);
    peaks.descendantsAnonBytes = Math.max(peaks.descendantsAnonBytes, anon);
    peaks.descendantsSharedOnceBytes = Math.max(peaks.descendantsSharedOnceBytes, anon + filesOnce(filesByBinary));
    const rootBinary = executableOf(pid);
    filesByBinary.set(rootBinary, Math.max(filesByBinary.get(rootBinary) ?? 0, rootResident.file));
    peaks.totalAnonBytes = Math.max(peaks.totalAnonBytes, anon + rootResident.anon);
    peaks.totalSharedOnceBytes = Math.max(peaks.totalSharedOnceBytes, anon + rootResident.anon + filesOnce(filesByBinary));
    peaks.rootBytes = Math.max(peaks.rootBytes, root);
    peaks.descendantsBytes = Math.max(peaks.descendantsBytes, children);
    peaks.totalBytes = Math.max(peaks.totalBytes, root + children);
    peaks.samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { ...peaks };
    },
    processes: () => [...seen.values()].sort((a, b) => a.startMs - b.startMs),
  };
}

/** The larger of two peaks, field by field (for a cell measured over several watches). */
export function maxPeaks(a: MemoryPeaks, b: MemoryPeaks): MemoryPeaks {
  return {
    rootBytes: Math.max(a.rootBytes, b.rootBytes),
    descendantsBytes: Math.max(a.descendantsBytes, b.descendantsBytes),
    totalBytes: Math.max(a.totalBytes, b.totalBytes),
    descendantsAnonBytes: Math.max(a.descendantsAnonBytes, b.descendantsAnonBytes),
    descendantsSharedOnceBytes: Math.max(a.descendantsSharedOnceBytes, b.descendantsSharedOnceBytes),
    totalAnonBytes: Math.max(a.totalAnonBytes, b.totalAnonBytes),
    totalSharedOnceBytes: Math.max(a.totalSharedOnceBytes, b.totalSharedOnceBytes),
    samples: a.samples + b.samples,
  };
}

/**
 * With `runOnly`, the sums count a run's processes only: the pulumi CLI (the watched process itself, or a descendant)
 * and what it started. Others below the watched process are its own helpers, not a run's: tsx's esbuild under the
 * server, the launch recorder's shell (bench/lib/cli-launches.ts) between the server and the CLI. All are listed.
 */
const isPulumiCli = (executable: string) => path.basename(executable) === "pulumi";

/** VmRSS and its anonymous and file-backed parts (RssShmem, nil here, is in neither). */
function residentOf(pid: number): { rss: number; anon: number; file: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined; // exited between the listing and the read
  }
  // Zombies and kernel threads have none of these lines.
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib("VmRSS"), anon: kib("RssAnon"), file: kib("RssFile") };
}

function executableOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return `pid ${pid}`; // not ours to read, or gone: counted on its own
  }
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

// The boot's wall-clock time from the uptime (to 10 ms), not /proc/stat's btime: that is whole seconds, truncated, and
// put every process up to a second early against Date.now() (a run's processes started "before" its CLI launch).
const bootMs = Date.now() - Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;

function descendantsOf(root: number): { pid: number; ppid: number; startMs: number }[] {
  const all = new Map<number, { pid: number; ppid: number; startMs: number }[]>();
  for (const stat of allProcesses()) {
    const proc = { pid: stat.pid, ppid: stat.ppid, startMs: bootMs + stat.startMs };
    const list = all.get(stat.ppid);
    if (list) list.push(proc);
    else all.set(stat.ppid, [proc]);
  }
  const found: { pid: number; ppid: number; startMs: number }[] = [];
  const pending = [...(all.get(root) ?? [])];
  while (pending.length > 0) {
    const proc = pending.pop()!;
    found.push(proc);
    pending.push(...(all.get(proc.pid) ?? []));
  }
  return found;
}
