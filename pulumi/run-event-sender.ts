import { retryWhileDatabaseUnavailable } from "../db/database-availability";
import type { EmitRunEvent, RunEvent } from "../domain/runs";
import { defaultLogger, type Logger } from "../lib/logger";

export interface RunEventSenderOptions {
  /** How long events wait for an unavailable database before they are dropped (default 60 s). */
  holdForMs?: number;
  /** The run's signal: once it fires, events no longer wait for the database. */
  signal?: AbortSignal;
  /** The run's logger (its lines carry the run id). */
  log?: Logger;
  /** Backoff between attempts (tests make it short). */
  startingDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Records a run's events one after the other, in the order they happened. While the database is unavailable
 * the event at the head is retried and the later ones wait behind it, so an outage shorter than `holdForMs`
 * loses none. Past that, or for any other error, the event is dropped with a log line: a lost event must not
 * fail an update that is changing real resources (the run's outcome is recorded apart from its events).
 */
export class RunEventSender {
  private chain: Promise<void> = Promise.resolve();
  private outageSince?: number;
  /** Events queued and not yet recorded or dropped. */
  private pending = 0;
  private readonly holdForMs: number;
  private readonly log: Logger;

  constructor(
    private readonly emit: EmitRunEvent,
    private readonly opts: RunEventSenderOptions = {},
  ) {
    this.holdForMs = opts.holdForMs ?? 60_000;
    this.log = opts.log ?? defaultLogger();
  }

  /** Queues the event; the promise settles once it (and every event before it) is recorded or dropped. */
  send(event: RunEvent): Promise<void> {
    this.pending++;
    this.chain = this.chain.then(() => this.record(event)).finally(() => this.pending--);
    return this.chain;
  }

  flush(): Promise<void> {
    return this.chain;
  }

  private async record(event: RunEvent): Promise<void> {
    try {
      await retryWhileDatabaseUnavailable(() => this.emit(event), {
        // One clock for the whole outage: the events queued behind a dropped one do not each wait again.
        deadline: () => (this.outageSince ?? Date.now()) + this.holdForMs,
        signal: this.opts.signal,
        startingDelayMs: this.opts.startingDelayMs,
        maxDelayMs: this.opts.maxDelayMs,
        onRetry: (err) => {
          if (this.outageSince === undefined) {
            this.outageSince = Date.now();
            this.log.warn(`run events held while the database is unavailable: ${(err as Error)?.message ?? String(err)}`);
          }
        },
      });
      if (this.outageSince !== undefined) {
        // This event and every one queued behind it waited for the database.
        this.log.info(`run events recorded again after ${Date.now() - this.outageSince} ms (${this.pending} held)`);
        this.outageSince = undefined;
      }
    } catch (err) {
      this.log.error(`run event not recorded (${event.type}): ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
