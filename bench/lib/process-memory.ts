/**
 * Peak resident memory of a process and of everything it started (for the onboarding server: the pulumi CLI,
 * its language host, the node program, the provider plugins, the dynamic providers), read from /proc at a fixed
 * interval. Linux only, like the sandbox. A process that lives shorter than one interval can be missed; the
 * peaks are therefore lower bounds, which is what sampling tools (ps, top) report too.
 */
import { readFileSync, readdirSync } from "node:fs";

export interface MemoryPeaks {
  /** Highest VmRSS of the watched process itself. */
  rootBytes: number;
  /** Highest sum, at one sample, of VmRSS over all its descendants. */
  descendantsBytes: number;
  /** Highest sum, at one sample, of the process and its descendants together. */
  totalBytes: number;
  samples: number;
}

export interface MemoryWatch {
  /** Stops sampling (after one last sample) and returns the peaks seen. */
  stop(): MemoryPeaks;
}

/** Samples `pid` and its descendants every `intervalMs` until stop(). */
export function watchProcessTree(pid: number, intervalMs = 200): MemoryWatch {
  const peaks: MemoryPeaks = { rootBytes: 0, descendantsBytes: 0, totalBytes: 0, samples: 0 };
  const sample = () => {
    const root = rssBytes(pid);
    if (root === undefined) return; // gone: nothing left to see
    const children = descendantsOf(pid).reduce((sum, child) => sum + (rssBytes(child) ?? 0), 0);
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
  };
}

/** The larger of two peaks, field by field (for a cell measured over several watches). */
export function maxPeaks(a: MemoryPeaks, b: MemoryPeaks): MemoryPeaks {
  return {
    rootBytes: Math.max(a.rootBytes, b.rootBytes),
    descendantsBytes: Math.max(a.descendantsBytes, b.descendantsBytes),
    totalBytes: Math.max(a.totalBytes, b.totalBytes),
    samples: a.samples + b.samples,
  };
}

function rssBytes(pid: number): number | undefined {
  try {
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    // Zombies and kernel threads have no VmRSS line.
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return undefined; // exited between the listing and the read
  }
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  const found: number[] = [];
  const pending = [...(children.get(root) ?? [])];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    found.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return found;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may itself hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}
