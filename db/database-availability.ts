import { backOff } from "exponential-backoff";

/** PostgreSQL's SQLSTATEs for "not reachable now": connection exceptions (class 08), shutdown, too many connections. */
const UNAVAILABLE_STATES = /^(08|57P0[123]$|53300$)/;
/** Node's socket errors for a server that is down or gone. */
const UNAVAILABLE_SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** node-postgres reports a dropped or never-made connection by message only. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed/i;

/**
 * True when `err` says the database cannot be reached right now (down, restarting, failing over), as opposed
 * to refusing a statement: what is worth retrying later, and what an HTTP client should retry (503).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === "string" && (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
  if (typeof message === "string" && UNAVAILABLE_MESSAGES.test(message)) return true;
  // Node's happy-eyeballs connect reports each address's refusal inside an AggregateError.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseUnavailable);
}

export interface DatabaseRetryOptions {
  /** Give up (rethrow) once this instant (ms since the epoch) has passed; read again before each retry. */
  deadline: () => number;
  signal?: AbortSignal;
  /** Called before each retry with the error that caused it. */
  onRetry?: (err: unknown) => void;
  startingDelayMs?: number;
  maxDelayMs?: number;
}

/** Runs `fn`, retrying with full-jitter backoff while the database is unavailable, until the deadline or the signal. */
export function retryWhileDatabaseUnavailable<T>(fn: () => Promise<T>, opts: DatabaseRetryOptions): Promise<T> {
  return backOff(fn, {
    numOfAttempts: Number.MAX_SAFE_INTEGER,
    startingDelay: opts.startingDelayMs ?? 100,
    maxDelay: opts.maxDelayMs ?? 2_000,
    jitter: "full",
    retry: (err) => {
      if (!isDatabaseUnavailable(err) || opts.signal?.aborted || Date.now() >= opts.deadline()) return false;
      opts.onRetry?.(err);
      return true;
    },
  });
}
