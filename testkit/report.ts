/**
 * What every benchmark shares: summary statistics, the machine it ran on, and docs/BENCHMARKS.md, where each
 * benchmark owns one section (between `<!-- bench:NAME -->` markers) that it rewrites on every run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const BENCHMARKS_DOC = path.resolve(__dirname, "../docs/BENCHMARKS.md");

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of an empty sample");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A ratio with two decimals, e.g. "1.37×". */
export const ratio = (value: number, baseline: number): string => `${(value / baseline).toFixed(2)}×`;
export const ms = (value: number): string => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function machine(): string {
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: path.dirname(BENCHMARKS_DOC), encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  })();
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, commit ${commit}`;
}

const HEADER = "# Benchmarks\n\nWritten by `npm run bench` (bench/); each section is rewritten by its benchmark, never by hand.\n";

/** Replaces (or appends) the section NAME of docs/BENCHMARKS.md with `body`, stamped with the date and the machine. */
export function writeSection(name: string, title: string, command: string, body: string): void {
  const doc = existsSync(BENCHMARKS_DOC) ? readFileSync(BENCHMARKS_DOC, "utf8") : HEADER;
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const section = `${open}\n## ${title}\n\nRegenerate: \`${command}\` · measured ${new Date().toISOString().slice(0, 16)}Z on ${machine()}\n\n${body.trim()}\n${close}`;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  const next =
    start >= 0 && end > start ? doc.slice(0, start) + section + doc.slice(end + close.length) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_DOC, next);
}
