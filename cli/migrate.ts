/** `npm run migrate`: applies the database migrations to DATABASE_URL (the server also does at start). */
import { Pool } from "pg";
import { migrate } from "../db/migrate";

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error("DATABASE_URL is not set: name the PostgreSQL database to migrate");
    process.exit(2);
  }
  const pool = new Pool({ connectionString: url });
  try {
    const applied = await migrate(pool);
    console.log(applied.length > 0 ? `applied: ${applied.join(", ")}` : "up to date");
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`migration failed: ${err.message}`);
  process.exit(1);
});
