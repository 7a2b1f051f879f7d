import type { PoolClient } from "pg";
import type { NotificationEvent } from "../domain/notifications";

/**
 * Writes a notification into the outbox (db/migrations/018_notifications.sql) on the client of the transaction
 * that makes the change it reports, so the two commit or roll back together. The same statement fans the event
 * out: one delivery per live subscription that wants its kind, for its repository or for every one. A
 * subscription created later does not hear of it; one deleted later cancels its pending deliveries.
 */
export async function recordNotification(client: PoolClient, event: NotificationEvent): Promise<void> {
  await client.query(
    `WITH e AS (
       INSERT INTO notification_events (kind, owner, repo, title, path, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
     )
     INSERT INTO notification_deliveries (event_id, subscription_id)
     SELECT e.id, s.id FROM e, notification_subscriptions s
     WHERE s.deleted_at IS NULL AND $1 = ANY (s.kinds)
       AND (s.owner IS NULL OR (lower(s.owner) = lower($2) AND lower(s.repo) = lower($3)))`,
    [event.kind, event.owner, event.repo, event.title, event.path, JSON.stringify(event.data)],
  );
}
