import assert from "node:assert/strict";
import { test } from "node:test";
import { createTestDatabase } from "../../testkit/database";
import { migrate } from "../../db/migrate";

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

test("a work item has no consumed_at column nor its index: its task_id is what says its work was taken up", async () => {
  const db = await createTestDatabase("migrate");
  try {
    const cols = await db.pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'webhook_work_items'");
    const names = cols.rows.map((r) => r.column_name as string);
    assert.ok(names.includes("task_id"), names.join(", "));
    assert.ok(!names.includes("consumed_at"), names.join(", "));
    const index = await db.pool.query("SELECT 1 FROM pg_indexes WHERE indexname = 'webhook_work_items_unconsumed'");
    assert.equal(index.rowCount, 0);
  } finally {
    await db.drop();
  }
});

test("the database itself refuses a second active run on one stack", async () => {
  const db = await createTestDatabase("migrate");
  try {
    const insert = (status: string) =>
      db.pool.query(
        "INSERT INTO runs (kind, owner, repo, stack_name, status, request) VALUES ('onboard', 'acme', 'widgets', 'acme.widgets', $1, '{}')",
        [status],
      );
    await insert("running");
    await insert("queued");
    await insert("succeeded");
    await assert.rejects(insert("interrupted"), /runs_one_active_per_stack/);
  } finally {
    await db.drop();
  }
});
