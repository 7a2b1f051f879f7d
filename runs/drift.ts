import type { Pool } from "pg";
import { abortableSleep, ShuttingDown } from "../lib/abort";
import type { Logger } from "../lib/logger";
import { createRun, lastAppliedRequest } from "./run-store";
import type { RunRecord } from "../domain/runs";

/**
 * Drift: what a refresh would change if it ran. A drift-check run is `pulumi refresh --preview-only` of a repo's
 * stack; anything but "same" in its change summary means the world no longer matches the state.
 */
export type DriftStatus = "in-sync" | "drifted" | "unknown";

export function driftOf(changeSummary: Record<string, number> | null): DriftStatus {
  if (!changeSummary) return "unknown";
  return Object.entries(changeSummary).some(([op, n]) => op !== "same" && n > 0) ? "drifted" : "in-sync";
}

/** Writes a finished drift check's verdict into the repo's registry row (other services read it there). */
export async function recordDriftCheck(pool: Pool, run: RunRecord): Promise<void> {
  if (run.kind !== "drift-check" || run.status !== "succeeded") return;
  await pool.query("UPDATE repo_registry SET drift_status = $2, drift_checked_at = $3 WHERE stack_name = $1", [
    run.stackName,
    driftOf(run.changeSummary),
    run.finishedAt ?? new Date(),
  ]);
}

export interface DriftSchedulerOptions {
  pool: Pool;
  /** How often each onboarded repo is checked; 0 turns the schedule off. */
  intervalMs: number;
  /** Called after runs were queued, to wake the run queue. */
  queued: () => void;
  log: Logger;
}

/**
 * Queues a drift-check run for every registered repo whose last check is older than the interval. Runs carry an
 * idempotency key per stack and interval window, so replicas sharing a database queue each check once.
 */
export class DriftScheduler {
  private controller?: AbortController;
  private loop?: Promise<void>;

  constructor(private readonly opts: DriftSchedulerOptions) {}

  start(): void {
    if (this.opts.intervalMs <= 0 || this.loop) return;
    this.controller = new AbortController();
    const signal = this.controller.signal;
    // Several passes per interval, so a repo onboarded meanwhile or a replica that restarted is not a whole interval late.
    const tick = Math.max(1000, Math.floor(this.opts.intervalMs / 6));
    this.loop = (async () => {
      while (!signal.aborted) {
        await this.queueDue().catch((err: Error) => this.opts.log.error(`drift schedule: ${err.message}`));
        await abortableSleep(tick, signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller?.abort(new ShuttingDown("the server is stopping"));
    await this.loop;
    this.loop = undefined;
  }

  /** One pass: queues the checks that are due; returns how many it queued. */
  async queueDue(now = Date.now()): Promise<number> {
    const { rows } = await this.opts.pool.query<{ stack_name: string; owner: string; repo: string }>(
      `SELECT r.stack_name, r.owner, r.repo FROM repo_registry r
       WHERE (r.drift_checked_at IS NULL OR r.drift_checked_at < to_timestamp($1 / 1000.0))
         AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.stack_name = r.stack_name AND x.status IN ('queued', 'running', 'waiting-for-auth'))`,
      [now - this.opts.intervalMs],
    );
    const window = Math.floor(now / this.opts.intervalMs);
    let created = 0;
    for (const row of rows) {
      const request = (await lastAppliedRequest(this.opts.pool, row.stack_name)) ?? { owner: row.owner, repo: row.repo };
      const key = `drift-check:${row.stack_name}:${window}`;
      const result = await createRun(this.opts.pool, {
        kind: "drift-check",
        owner: row.owner,
        repo: row.repo,
        stackName: row.stack_name,
        request,
        idempotency: { key, hash: key },
      });
      if (result.created) created++;
    }
    if (created > 0) {
      this.opts.log.info(`drift checks queued: ${created}`);
      this.opts.queued();
    }
    return created;
  }
}
