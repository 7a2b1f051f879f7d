import type { Pool, PoolClient } from "pg";

/**
 * Runs `fn` inside one transaction on a client of its own: committed when `fn` resolves, rolled back when it throws.
 * A failed ROLLBACK (the connection already gone) is swallowed so that the caller sees the error that caused it.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
