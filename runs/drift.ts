import type { Pool } from "pg";
import { abortableSleep, ShuttingDown } from "../lib/abort";
import { recordDriftStatus, reposDueForDriftCheck } from "../db/registry";
import { recordNotification } from "../db/notification-outbox";
import { withTransaction } from "../db/transaction";
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

/**
 * Writes a finished drift check's verdict into the repo's registry row (other services read it there). A repo
 * found drifted that was not before is reported in the same transaction; one that stays drifted is not reported
 * at every check again.
 */
export async function recordDriftCheck(pool: Pool, run: RunRecord): Promise<void> {
  if (run.kind !== "drift-check" || run.status !== "succeeded") return;
  const verdict = driftOf(run.changeSummary);
  await withTransaction(pool, async (client) => {
    const before = await recordDriftStatus(client, run.stackName, verdict, run.finishedAt ?? new Date());
    if (verdict !== "drifted" || before === undefined || before === "drifted") return;
    await recordNotification(client, {
      kind: "drift.detected",
      owner: run.owner,
      repo: run.repo,
      path: `/v1/runs/${run.id}`,
      title: `${run.owner}/${run.repo} drifted from its stack`,
      data: { stackName: run.stackName, runId: run.id, changeSummary: run.changeSummary },
    });
  });
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
    const due = await reposDueForDriftCheck(this.opts.pool, now - this.opts.intervalMs);
    const window = Math.floor(now / this.opts.intervalMs);
    let created = 0;
    for (const row of due) {
      const request = (await lastAppliedRequest(this.opts.pool, row.stackName)) ?? { owner: row.owner, repo: row.repo };
      const key = `drift-check:${row.stackName}:${window}`;
      const result = await createRun(this.opts.pool, {
        kind: "drift-check",
        owner: row.owner,
        repo: row.repo,
        stackName: row.stackName,
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
