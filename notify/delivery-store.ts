import type { Pool } from "pg";
import type { NotificationChannel, NotificationKind } from "../domain/notifications";

/**
 * The notification_deliveries and notification_attempts tables (db/migrations/018_notifications.sql): a
 * delivery is claimed under a lease, each claim is an attempt, and it ends delivered or waits for its next try.
 */

/** A claimed delivery with what it takes to send it: its event and its subscription's channel. */
export interface ClaimedDelivery {
  id: string;
  deliveryId: string;
  attempt: number;
  subscriptionId: string;
  channel: NotificationChannel;
  url: string;
  topic: string | null;
  kind: NotificationKind;
  owner: string | null;
  repo: string | null;
  title: string;
  path: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/** How an attempt ended, when it did not deliver. */
export type FailedOutcome = "http_error" | "timeout" | "unreachable" | "not_sent" | "interrupted";

/**
 * Claims the oldest due delivery of a subscription that has none in flight, so a receiver that hangs holds one
 * slot at most and the others' deliveries go on. Claiming opens the attempt; an attempt left open by a worker that
 * died is closed as interrupted.
 */
export async function claimDelivery(pool: Pool, worker: string, leaseMs: number): Promise<ClaimedDelivery | undefined> {
  const { rows } = await pool.query(
    `WITH c AS (
       SELECT d.id FROM notification_deliveries d JOIN notification_subscriptions s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())
         AND s.deleted_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM notification_deliveries o
                         WHERE o.subscription_id = d.subscription_id AND o.status = 'pending' AND o.lease_expires_at >= now())
       ORDER BY d.next_attempt_at, d.id LIMIT 1
       FOR UPDATE OF d SKIP LOCKED
     ), u AS (
       UPDATE notification_deliveries d SET lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
       FROM c WHERE d.id = c.id RETURNING d.*
     ), closed AS (
       UPDATE notification_attempts a SET finished_at = now(), outcome = 'interrupted', error = 'its worker stopped before it ended'
       FROM u WHERE a.delivery = u.id AND a.finished_at IS NULL
     ), opened AS (
       INSERT INTO notification_attempts (delivery, attempt, worker) SELECT id, attempts, $1 FROM u
     )
     SELECT u.id, u.delivery_id, u.attempts, s.id AS subscription_id, s.channel, s.url, s.topic,
            e.kind, e.owner, e.repo, e.title, e.path, e.data, e.created_at
     FROM u JOIN notification_events e ON e.id = u.event_id JOIN notification_subscriptions s ON s.id = u.subscription_id`,
    [worker, leaseMs],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: String(r.id),
    deliveryId: r.delivery_id,
    attempt: r.attempts,
    subscriptionId: r.subscription_id,
    channel: r.channel,
    url: r.url,
    topic: r.topic,
    kind: r.kind,
    owner: r.owner,
    repo: r.repo,
    title: r.title,
    path: r.path,
    data: r.data,
    occurredAt: r.created_at,
  };
}

/** The receiver answered 2xx: delivered. False when the lease was no longer ours (another worker has it). */
export async function markDelivered(pool: Pool, d: ClaimedDelivery, worker: string, httpStatus: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `WITH d AS (
       UPDATE notification_deliveries SET status = 'delivered', delivered_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
       WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
     )
     UPDATE notification_attempts a SET finished_at = now(), outcome = 'delivered', http_status = $4
     FROM d WHERE a.delivery = d.id AND a.attempt = $3`,
    [d.id, worker, d.attempt, httpStatus],
  );
  return rowCount === 1;
}

/** The attempt failed (or was stopped): the delivery is due again after `retryInMs`. */
export async function retryDelivery(
  pool: Pool,
  d: ClaimedDelivery,
  worker: string,
  failure: { outcome: FailedOutcome; error: string; httpStatus?: number; retryInMs: number },
): Promise<void> {
  await pool.query(
    `WITH d AS (
       UPDATE notification_deliveries SET lease_owner = NULL, lease_expires_at = NULL, last_error = $5,
         next_attempt_at = now() + $6 * interval '1 millisecond'
       WHERE id = $1 AND lease_owner = $2 AND status = 'pending' RETURNING id
     )
     UPDATE notification_attempts a SET finished_at = now(), outcome = $4, error = $5, http_status = $7
     FROM d WHERE a.delivery = d.id AND a.attempt = $3`,
    [d.id, worker, d.attempt, failure.outcome, failure.error, failure.retryInMs, failure.httpStatus ?? null],
  );
}

export interface AttemptEntry {
  attempt: number;
  worker: string;
  sentAt: Date;
  finishedAt: Date | null;
  outcome: string | null;
  httpStatus: number | null;
  error: string | null;
}

export interface LedgerEntry {
  deliveryId: string;
  eventId: string;
  kind: NotificationKind;
  owner: string | null;
  repo: string | null;
  subscriptionId: string;
  channel: NotificationChannel;
  status: "pending" | "delivered" | "cancelled";
  attempts: AttemptEntry[];
  createdAt: Date;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  lastError: string | null;
}

/** Deliveries newest first with every attempt (one subscription's, or all), the notification ledger. */
export async function deliveryLedger(pool: Pool, opts: { subscriptionId?: string; limit?: number } = {}): Promise<LedgerEntry[]> {
  const { rows } = await pool.query(
    `SELECT d.delivery_id, d.event_id, e.kind, e.owner, e.repo, d.subscription_id, s.channel, d.status, d.created_at,
            CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.delivered_at, d.last_error,
            coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'worker', a.worker, 'sentAt', a.sent_at,
                        'finishedAt', a.finished_at, 'outcome', a.outcome, 'httpStatus', a.http_status, 'error', a.error)
                        ORDER BY a.attempt)
                      FROM notification_attempts a WHERE a.delivery = d.id), '[]'::json) AS attempts
     FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id
     JOIN notification_subscriptions s ON s.id = d.subscription_id
     WHERE $1::uuid IS NULL OR d.subscription_id = $1::uuid
     ORDER BY d.id DESC LIMIT $2`,
    [opts.subscriptionId ?? null, opts.limit ?? 100],
  );
  return rows.map((r) => ({
    deliveryId: r.delivery_id,
    eventId: String(r.event_id),
    kind: r.kind,
    owner: r.owner,
    repo: r.repo,
    subscriptionId: r.subscription_id,
    channel: r.channel,
    status: r.status,
    createdAt: r.created_at,
    nextAttemptAt: r.next_attempt_at,
    deliveredAt: r.delivered_at,
    lastError: r.last_error,
    attempts: (r.attempts as Record<string, unknown>[]).map((a) => ({
      attempt: a.attempt as number,
      worker: a.worker as string,
      sentAt: new Date(a.sentAt as string),
      finishedAt: a.finishedAt ? new Date(a.finishedAt as string) : null,
      outcome: a.outcome as string | null,
      httpStatus: a.httpStatus as number | null,
      error: a.error as string | null,
    })),
  }));
}

/** Deliveries not yet delivered, per channel (a receiver that stays down shows here). */
export async function countPendingDeliveries(pool: Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ channel: string; n: number }>(
    `SELECT s.channel, count(*)::int AS n FROM notification_deliveries d JOIN notification_subscriptions s ON s.id = d.subscription_id
     WHERE d.status = 'pending' GROUP BY s.channel`,
  );
  return Object.fromEntries(rows.map((r) => [r.channel, r.n]));
}
