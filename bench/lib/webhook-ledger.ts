/**
 * What the webhook benchmark checks after every run against the server: each 2xx answer is one new stored
 * delivery (nothing acknowledged was lost), and every stored delivery was processed (here: ignored, the
 * issue has none of the repo's labels) before the next run starts, so no run pays for another's backlog.
 */
import type { Pool } from "pg";
import { waitFor } from "../../testkit/server";

/** Rows of webhook_deliveries, or of the persisting reference's copy of it. */
export async function deliveryCount(pool: Pool, table = "webhook_deliveries"): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0].n;
}

/** Waits until no stored delivery is left unprocessed; how each ended, by status. */
export function drainDeliveries(pool: Pool, timeoutMs = 120_000): Promise<Record<string, number>> {
  return waitFor(
    async () => {
      const { rows } = await pool.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status",
      );
      const byStatus: Record<string, number> = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      return byStatus.received ? undefined : byStatus;
    },
    "every stored delivery to be processed",
    timeoutMs,
  );
}
