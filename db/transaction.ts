import type { Pool, PoolClient } from "pg";

/**
 * Runs `fn` inside one transaction on a client of its own: committed when `fn` resolves, rolled back when it throws.
 * A failed ROLLBACK (the connection already gone) is swallowed so that the caller sees the error that caused it.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => fn(client));
  } finally {
    client.release();
  }
}

/**
 * The same on a client the caller holds and keeps, for work that must stay on one session across transactions
 * (the migrator's advisory lock).
 */
export async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
