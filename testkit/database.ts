import { randomBytes } from "node:crypto";
import { Client, Pool } from "pg";
import { migrate } from "../db/migrate";

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database on the real PostgreSQL server named by DATABASE_URL (the sandbox's),
 * so tests never see each other's rows. Dropped by `drop()`.
 */
export async function createTestDatabase(prefix = "t"): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error("DATABASE_URL is not set: start the sandbox (scripts/sandbox up) and source .sandbox/env");
  const name = `${prefix}_${randomBytes(6).toString("hex")}`.toLowerCase();
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 10 });
  // As the server's own pool (server/main.ts): drop() ends the database WITH (FORCE), and a connection still checked
  // out then (work finishing after a test's assertions) reports the termination as an 'error' event that, unheard,
  // would fail whichever test runs when it arrives.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  await migrate(pool);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
