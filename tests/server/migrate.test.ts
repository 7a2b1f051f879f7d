import assert from "node:assert/strict";
import { test } from "node:test";
import { createTestDatabase } from "../fixtures/database";
import { migrate } from "../../server/db/migrate";

test("migrations create the repo registry and a second run applies nothing", async () => {
  const db = await createTestDatabase("migrate");
  try {
    const cols = await db.pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'repo_registry'");
    assert.ok(cols.rows.some((r) => r.column_name === "auth_project_id"));
    assert.deepEqual(await migrate(db.pool), []);
  } finally {
    await db.drop();
  }
});
