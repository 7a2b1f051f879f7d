import type { Pool } from "pg";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { NOTIFICATION_CHANNELS } from "../domain/notifications";
import { countPendingDeliveries } from "../notify/delivery-store";
import { driftVerdicts } from "../db/registry";
import { countRunsByStatus } from "../runs/run-store";
import { RUN_STATUSES, type RunRecord } from "../domain/runs";

/**
 * The server's Prometheus metrics, on a registry of its own (two apps in one process, as in tests, never
 * share counters). Gauges over the runs table are read from the database at scrape time, so every replica
 * reports the same queue.
 */
export interface ServerMetrics {
  registry: Registry;
  runFinished(run: RunRecord): void;
  webhookDeliveries: Counter<"event" | "outcome">;
}

export function createMetrics(pool: Pool): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mesh_six_" });

  const byStatus = async (): Promise<Record<string, number> | undefined> => {
    try {
      return await countRunsByStatus(pool);
    } catch {
      return undefined; // an unreachable database shows on /readyz; the scrape still succeeds
    }
  };

  new Gauge({
    name: "mesh_six_runs",
    help: "Runs in the database by status",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const counts = await byStatus();
      if (!counts) return;
      for (const status of RUN_STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  new Gauge({
    name: "mesh_six_run_queue_depth",
    help: "Runs waiting in the queue",
    registers: [registry],
    async collect() {
      const counts = await byStatus();
      if (counts) this.set(counts.queued ?? 0);
    },
  });
  new Gauge({
    name: "mesh_six_notifications_pending",
    help: "Notification deliveries not yet delivered, by channel",
    labelNames: ["channel"],
    registers: [registry],
    async collect() {
      const counts = await countPendingDeliveries(pool).catch(() => undefined);
      if (!counts) return;
      for (const channel of NOTIFICATION_CHANNELS) this.set({ channel }, counts[channel] ?? 0);
    },
  });
  new Gauge({
    name: "mesh_six_repo_drifted",
    help: "1 when the repo's last drift check found the world differing from its stack's state, 0 when in sync (unchecked repos absent)",
    labelNames: ["stack"],
    registers: [registry],
    async collect() {
      const rows = await driftVerdicts(pool).catch(() => undefined);
      if (!rows) return;
      this.reset();
      for (const row of rows) this.set({ stack: row.stackName }, row.driftStatus === "drifted" ? 1 : 0);
    },
  });
  const finished = new Counter({
    name: "mesh_six_runs_finished_total",
    help: "Runs that reached a terminal status in this process",
    labelNames: ["kind", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "mesh_six_run_duration_seconds",
    help: "Time from a run's start to its terminal status",
    labelNames: ["kind", "status"],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400],
    registers: [registry],
  });
  const upToDate = new Counter({
    name: "mesh_six_runs_up_to_date_total",
    help: "Succeeded onboards and updates answered up-to-date without running Pulumi, in this process (also counted as finished)",
    labelNames: ["kind"],
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: "mesh_six_webhook_deliveries_total",
    help: "GitHub webhook deliveries received, by event and outcome",
    labelNames: ["event", "outcome"],
    registers: [registry],
  });

  return {
    registry,
    webhookDeliveries,
    runFinished(run) {
      finished.inc({ kind: run.kind, status: run.status });
      if (run.upToDateWith) upToDate.inc({ kind: run.kind });
      if (run.startedAt && run.finishedAt) {
        duration.observe({ kind: run.kind, status: run.status }, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
      }
    },
  };
}
