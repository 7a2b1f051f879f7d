import type { Pool } from "pg";
import { recordNotification } from "../../db/notification-outbox";
import { Conditions, type Page, type PageRequest, readPage } from "../../db/page";
import { withTransaction } from "../../db/transaction";
import { createTask, DEFAULT_TASK_MAX_ATTEMPTS, DEFAULT_TASK_TIMEOUT_MS } from "../../dispatch/task-store";
import type { WorkItem, WorkKind } from "./events";

/** The webhook receiver's writes of deliveries and work items (its reads of the registry are db/registry.ts's). */

export interface NewDelivery {
  deliveryId: string;
  owner: string;
  repo: string | null;
  event: string;
  action: string | null;
  payload: unknown;
}

/**
 * Stores a verified delivery before it is acknowledged. false: this delivery id was seen already. GitHub's
 * "redeliver" reuses the id; a delivery whose processing failed is taken again, any other repeat is not.
 */
export async function recordDelivery(pool: Pool, d: NewDelivery): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO webhook_deliveries (delivery_id, owner, repo, event, action, payload)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (delivery_id) DO UPDATE
       SET status = 'received', received_at = now(), processed_at = NULL, reason = NULL, error = NULL, payload = EXCLUDED.payload
       WHERE webhook_deliveries.status = 'failed'`,
    [d.deliveryId, d.owner, d.repo, d.event, d.action, JSON.stringify(d.payload)],
  );
  return rowCount === 1;
}

export type DeliveryStatus = "processed" | "ignored" | "failed";

/** The delivery's outcome; the stored payload is dropped once nothing needs it again. */
export async function finishDelivery(pool: Pool, deliveryId: string, status: DeliveryStatus, detail?: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ owner: string; repo: string | null; event: string; action: string | null }>(
      `UPDATE webhook_deliveries
       SET status = $2::text, processed_at = now(),
           reason = CASE WHEN $2::text = 'ignored' THEN $3::text END,
           error = CASE WHEN $2::text = 'failed' THEN $3::text END,
           payload = CASE WHEN $2::text = 'failed' THEN payload END
       WHERE delivery_id = $1 RETURNING owner, repo, event, action`,
      [deliveryId, status, detail ?? null],
    );
    const d = rows[0];
    if (status !== "failed" || !d) return;
    // Reported with the failure: GitHub will not send it again unless someone redelivers it.
    await recordNotification(client, {
      kind: "webhook.failed",
      owner: d.owner,
      // An organization's delivery concerns no one repository: only global subscriptions hear of it.
      repo: d.repo,
      path: d.repo ? `/v1/repos/${d.owner}/${d.repo}` : `/v1/repos`,
      title: `processing a ${d.event} delivery of ${d.repo ? `${d.owner}/${d.repo}` : d.owner} failed`,
      data: { deliveryId, event: d.event, action: d.action, error: detail ?? null },
    });
  });
}

/** Which agents' capability each kind of work goes to; board updates are bookkeeping, not work for agents. */
export const WORK_CAPABILITY: Readonly<Record<WorkKind, string | undefined>> = {
  issue: "planning",
  "issue-comment": "planning",
  "pull-request": "review",
  "board-update": undefined,
};

/** The issue a work item's card shows: issues and their comments have one; pull requests are not put on boards. */
function boardContentOf(item: WorkItem): string | null {
  if (item.kind !== "issue" && item.kind !== "issue-comment") return null;
  const nodeId = (item.payload.issue as { nodeId?: unknown } | undefined)?.nodeId;
  return typeof nodeId === "string" ? nodeId : null;
}

/** Records the work item and, for work agents do, its dispatch task, together (a redelivery adds neither). */
export async function insertWorkItem(pool: Pool, deliveryId: string, repo: { owner: string; repo: string }, item: WorkItem): Promise<void> {
  await withTransaction(pool, async (client) => {
    const inserted = await client.query(
      `INSERT INTO webhook_work_items (delivery_id, owner, repo, kind, issue_number, payload)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id, owner, repo) DO NOTHING RETURNING delivery_id`,
      [deliveryId, repo.owner, repo.repo, item.kind, item.issueNumber, JSON.stringify(item.payload)],
    );
    const capability = WORK_CAPABILITY[item.kind];
    if (inserted.rowCount && capability) {
      const task = await createTask(client, {
        capability,
        owner: repo.owner,
        repo: repo.repo,
        payload: { kind: item.kind, issueNumber: item.issueNumber, deliveryId, ...item.payload },
        priority: 0,
        timeoutMs: DEFAULT_TASK_TIMEOUT_MS,
        maxAttempts: DEFAULT_TASK_MAX_ATTEMPTS,
        boardContentId: boardContentOf(item),
      });
      await client.query("UPDATE webhook_work_items SET task_id = $1 WHERE delivery_id = $2 AND owner = $3 AND repo = $4", [
        task.id,
        deliveryId,
        repo.owner,
        repo.repo,
      ]);
    }
  });
}

export interface PendingDelivery {
  deliveryId: string;
  owner: string;
  repo: string | null;
  event: string;
  payload: unknown;
}

/** Deliveries acknowledged but not processed for `olderThanMs` (their process died): to be taken again. */
export async function pendingDeliveries(pool: Pool, olderThanMs: number, limit = 100): Promise<PendingDelivery[]> {
  const { rows } = await pool.query<{ delivery_id: string; owner: string; repo: string | null; event: string; payload: unknown }>(
    `SELECT delivery_id, owner, repo, event, payload FROM webhook_deliveries
     WHERE status = 'received' AND received_at < now() - make_interval(secs => $1::double precision / 1000)
     ORDER BY received_at LIMIT $2`,
    [olderThanMs, limit],
  );
  return rows.map((r) => ({ deliveryId: r.delivery_id, owner: r.owner, repo: r.repo, event: r.event, payload: r.payload }));
}

/** A delivery as its list shows it: never its payload (nor a signature, which is not kept). */
export interface DeliverySummary {
  deliveryId: string;
  owner: string;
  repo: string | null;
  event: string;
  action: string | null;
  outcome: "received" | DeliveryStatus;
  receivedAt: Date;
  processedAt: Date | null;
  reason: string | null;
  error: string | null;
  workItems: { owner: string; repo: string; kind: WorkKind; issueNumber: number | null; taskId: string | null }[];
}

export interface DeliveryFilter {
  /** Deliveries to this repo's URL, compared without regard to case. */
  repo?: { owner: string; repo: string };
  event?: string;
  outcome?: DeliverySummary["outcome"];
}

/** A page of deliveries, newest received first, with the work each asked for. */
export async function listDeliveries(pool: Pool, filter: DeliveryFilter, page: PageRequest): Promise<Page<DeliverySummary>> {
  const c = new Conditions();
  if (filter.repo) c.add(`lower(d.owner) = lower(${c.arg(filter.repo.owner)}) AND lower(d.repo) = lower(${c.arg(filter.repo.repo)})`);
  if (filter.event !== undefined) c.add(`d.event = ${c.arg(filter.event)}`);
  if (filter.outcome !== undefined) c.add(`d.status = ${c.arg(filter.outcome)}`);
  return readPage<DeliverySummary>(
    pool,
    {
      select: `d.delivery_id AS "deliveryId", d.owner, d.repo, d.event, d.action, d.status AS outcome, d.received_at AS "receivedAt",
        d.processed_at AS "processedAt", d.reason, d.error,
        (SELECT coalesce(jsonb_agg(jsonb_build_object('owner', w.owner, 'repo', w.repo, 'kind', w.kind, 'issueNumber', w.issue_number,
           'taskId', w.task_id) ORDER BY w.id), '[]'::jsonb) FROM webhook_work_items w WHERE w.delivery_id = d.delivery_id) AS "workItems"`,
      from: "webhook_deliveries d",
      time: "d.received_at",
      id: "d.delivery_id",
      idType: "text",
    },
    c,
    page,
  );
}
