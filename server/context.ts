import type { Pool } from "pg";
import type { RunQueue } from "../runs/queue";
import { createRun, type NewRun, queuePosition } from "../runs/run-store";
import type { RunRecord } from "../domain/runs";
import type { Logger } from "../lib/logger";
import type { ServerConfig } from "./config";
import type { ServerMetrics } from "./metrics";
import type { z } from "zod";
import type { runView } from "./schemas";

/** What route handlers share. */
export interface AppContext {
  pool: Pool;
  queue: RunQueue;
  config: ServerConfig;
  metrics: ServerMetrics;
  log: Logger;
  /** Set once the process begins to stop: /readyz turns false so the Service stops sending it traffic. */
  draining: boolean;
}

/** Stores a run (it exists before anyone hears of it), then wakes the worker. */
export async function submitRun(ctx: AppContext, run: NewRun): Promise<{ run: RunRecord; created: boolean; position: number | null }> {
  const { run: stored, created } = await createRun(ctx.pool, run);
  if (created) ctx.queue.kick();
  return { run: stored, created, position: await queuePosition(ctx.pool, stored) };
}

export function toRunView(run: RunRecord, position: number | null): z.output<typeof runView> {
  return {
    id: run.id,
    kind: run.kind,
    owner: run.owner,
    repo: run.repo,
    stackName: run.stackName,
    status: run.status,
    step: run.step,
    position,
    request: run.request as Record<string, unknown>,
    options: run.options,
    cancelRequested: run.cancelRequestedAt !== null,
    interruptions: run.interruptions,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    failedStep: run.failedStep,
    failureReason: run.failureReason,
    changeSummary: run.changeSummary,
    outputs: run.outputs,
    policy: run.policy,
    outcome:
      run.status !== "succeeded" || (run.kind !== "onboard" && run.kind !== "update") ? null : run.upToDateWith ? "up-to-date" : "applied",
    upToDateWith: run.upToDateWith,
    fingerprint: run.fingerprint,
    // The prompt matters only while the user can act on it.
    auth: run.status === "waiting-for-auth" && run.auth ? run.auth : null,
  };
}

export function runLocation(run: RunRecord): string {
  return `/v1/runs/${run.id}`;
}
