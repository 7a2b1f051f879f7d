import { createLogger, type Logger } from "../lib/logger";

/** One JSON line of the server's log, as a platform reads it. */
export interface LogEntry {
  level: string;
  time: string;
  msg: string;
  component?: string;
  runId?: string;
  taskId?: string;
  deliveryId?: string;
  [field: string]: unknown;
}

/** The entry a line holds; undefined for a line that is not one (a child process's own output). */
export function parseLogLine(line: string): LogEntry | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return value && typeof value === "object" && typeof (value as LogEntry).msg === "string" ? (value as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

export function logEntries(lines: readonly string[]): LogEntry[] {
  return lines.flatMap((l) => parseLogLine(l) ?? []);
}

/** Each line's message: the entry's `msg`, or the line itself when it is not an entry. */
export function logMessages(lines: readonly string[]): string[] {
  return lines.map((l) => parseLogLine(l)?.msg ?? l);
}

/** A logger writing (after redaction) into `lines`, one finished JSON line each: what the process would print. */
export function captureLogs(opts: { secrets?: readonly string[] } = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", secrets: opts.secrets, destination: { write: (s: string) => void lines.push(s.trimEnd()) } });
  return { log, lines };
}

/** A logger that prints nothing (tests whose log lines are beside the point). */
export const quietLogger = (): Logger => createLogger({ level: "silent" });
