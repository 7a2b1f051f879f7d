import type { Pool } from "pg";
import { recordNotification } from "../../db/notification-outbox";
import { Conditions, type Page, type PageRequest, readPage } from "../../db/page";
import { prepared } from "../../db/prepared";
import { withTransaction } from "../../db/transaction";
import type { Queryable } from "../../db/registry";
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

/** What is known of a delivery when it is stored. */
export type Receipt =
  /** Decided already (nothing to do for it, from the payload and the registry row): stored as done, without its payload. */
  | { outcome: "processed" | "ignored"; reason?: string }
  /** To be processed; claimed for `claimMs` by this replica when it processes it itself, else left for a sweep. */
  | { outcome: "received"; claimMs: number | null };

export interface DeliveryReceipt {
  delivery: NewDelivery;
  receipt: Receipt;
}

const RECORD_DELIVERIES = prepared(
  "webhooks-record-deliveries",
  `INSERT INTO webhook_deliveries (delivery_id, owner, repo, event, action, payload, status, processed_at, reason, claimed_until)
     SELECT id, owner, repo, event, action, payload::jsonb, status, CASE WHEN status <> 'received' THEN now() END, reason,
       now() + claim_ms * interval '1 millisecond'
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::double precision[])
       AS d (id, owner, repo, event, action, payload, status, reason, claim_ms)
     ON CONFLICT (delivery_id) DO UPDATE
       SET status = EXCLUDED.status, received_at = now(), processed_at = EXCLUDED.processed_at, reason = EXCLUDED.reason,
         error = NULL, payload = EXCLUDED.payload, claimed_until = EXCLUDED.claimed_until
       WHERE webhook_deliveries.status = 'failed'
     RETURNING delivery_id`,
);

/**
 * Stores verified deliveries, in one statement, before they are acknowledged; returns the ids stored. An id left
 * out was seen already: GitHub's "redeliver" reuses the id; a delivery whose processing failed is taken again, any
 * other repeat is not. Each id at most once per call (one statement cannot store a row twice).
 */
export async function recordDeliveries(pool: Queryable, batch: readonly DeliveryReceipt[]): Promise<Set<string>> {
  const column = <T>(pick: (r: DeliveryReceipt, received: boolean) => T) => batch.map((r) => pick(r, r.receipt.outcome === "received"));
  const { rows } = await pool.query<{ delivery_id: string }>(
    RECORD_DELIVERIES([
      column((r) => r.delivery.deliveryId),
      column((r) => r.delivery.owner),
      column((r) => r.delivery.repo),
      column((r) => r.delivery.event),
      column((r) => r.delivery.action),
      // A decided delivery is stored without its payload, as a processed one is kept.
      column((r, received) => (received ? JSON.stringify(r.delivery.payload) : null)),
      column((r) => r.receipt.outcome),
      column((r) => (r.receipt.outcome === "received" ? null : (r.receipt.reason ?? null))),
      column((r) => (r.receipt.outcome === "received" ? r.receipt.claimMs : null)),
    ]),
  );
  return new Set(rows.map((r) => r.delivery_id));
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

/**
 * Claims up to `limit` stored deliveries nobody is processing, oldest first: left for a sweep when they arrived
 * (every slot was taken), or claimed by a replica that died before it finished them (its claim lapsed).
 */
export async function claimPendingDeliveries(pool: Pool, claimMs: number, limit: number): Promise<PendingDelivery[]> {
  const { rows } = await pool.query<{ delivery_id: string; owner: string; repo: string | null; event: string; payload: unknown }>(
    `UPDATE webhook_deliveries d SET claimed_until = now() + $1::double precision * interval '1 millisecond'
     FROM (
       SELECT delivery_id FROM webhook_deliveries
       WHERE status = 'received' AND (claimed_until IS NULL OR claimed_until < now())
       ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ) c
     WHERE d.delivery_id = c.delivery_id
     RETURNING d.delivery_id, d.owner, d.repo, d.event, d.payload`,
    [claimMs, limit],
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
