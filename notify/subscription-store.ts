import type { Pool } from "pg";
import { withTransaction } from "../db/transaction";
import type { NotificationChannel, NotificationKind } from "../domain/notifications";
import { isUuid } from "../lib/uuid";

/** The notification_subscriptions table (db/migrations/018_notifications.sql): who hears of which events. */

export interface Subscription {
  id: string;
  channel: NotificationChannel;
  /** Both null: every repository. */
  owner: string | null;
  repo: string | null;
  kinds: NotificationKind[];
  /** The webhook's URL, or the ntfy server's base URL. */
  url: string;
  topic: string | null;
  createdBy: string | null;
  createdAt: Date;
}

export interface NewSubscription {
  channel: NotificationChannel;
  owner: string | null;
  repo: string | null;
  kinds: NotificationKind[];
  url: string;
  topic: string | null;
  createdBy: string;
}

interface Row {
  id: string;
  channel: NotificationChannel;
  owner: string | null;
  repo: string | null;
  kinds: NotificationKind[];
  url: string;
  topic: string | null;
  created_by: string | null;
  created_at: Date;
}

const COLUMNS = "id, channel, owner, repo, kinds, url, topic, created_by, created_at";

function toSubscription(r: Row): Subscription {
  return {
    id: r.id,
    channel: r.channel,
    owner: r.owner,
    repo: r.repo,
    kinds: r.kinds,
    url: r.url,
    topic: r.topic,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/** Stores a subscription; `id` is chosen by the caller, who may have put its secret in Vault under it first. */
export async function createSubscription(pool: Pool, id: string, s: NewSubscription): Promise<Subscription> {
  const { rows } = await pool.query<Row>(
    `INSERT INTO notification_subscriptions (id, channel, owner, repo, kinds, url, topic, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [id, s.channel, s.owner, s.repo, s.kinds, s.url, s.topic, s.createdBy],
  );
  return toSubscription(rows[0]);
}

export async function listSubscriptions(pool: Pool): Promise<Subscription[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM notification_subscriptions WHERE deleted_at IS NULL ORDER BY created_at, id`,
  );
  return rows.map(toSubscription);
}

export async function getSubscription(pool: Pool, id: string): Promise<Subscription | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM notification_subscriptions WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rows[0] ? toSubscription(rows[0]) : undefined;
}

/**
 * Ends a subscription: it is marked deleted (events being written now still find their row) and its pending
 * deliveries are cancelled with it. Undefined when there is no such live subscription.
 */
export async function deleteSubscription(pool: Pool, id: string): Promise<Subscription | undefined> {
  if (!isUuid(id)) return undefined;
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<Row>(
      `UPDATE notification_subscriptions SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [id],
    );
    if (!rows[0]) return undefined;
    await client.query(
      `WITH d AS (
         UPDATE notification_deliveries SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
         WHERE subscription_id = $1 AND status = 'pending' RETURNING id
       )
       UPDATE notification_attempts a SET finished_at = now(), outcome = 'cancelled', error = 'the subscription was deleted'
       FROM d WHERE a.delivery = d.id AND a.finished_at IS NULL`,
      [id],
    );
    return toSubscription(rows[0]);
  });
}
