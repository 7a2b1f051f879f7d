import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "pg";
import { postgresStateUrl } from "../../pulumi/state-backend";
import { openStateStore, prepareStateBackend } from "../../pulumi/state-store";
import { createTestDatabase } from "../../testkit/database";

// Replicas starting on an empty database all open the backend's table at once (their start-ups, their first runs'
// checkpoint look-ups): every one must find or make it, none fail on the catalog's unique index.
test("many processes preparing the state backend at once on an empty database all succeed, and the table is made once", async () => {
  const db = await createTestDatabase("state_table");
  try {
    for (let round = 0; round < 5; round++) {
      const table = `pulumi_state_${round}`;
      const url = postgresStateUrl(db.url, table);
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => prepareStateBackend(url)));
      const failed = results.flatMap((r) => (r.status === "rejected" ? [String((r.reason as Error).message)] : []));
      assert.deepEqual(failed, [], `round ${round}`);
      const { rows } = await db.pool.query("SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", [table]);
      assert.deepEqual(
        rows.map((r) => r.indexname),
        [`${table}_key_prefix_idx`, `${table}_pkey`],
      );
    }
  } finally {
    await db.drop();
  }
});

test("a store opened on a prepared backend writes and reads its blobs, and opening again keeps them", async () => {
  const db = await createTestDatabase("state_table");
  try {
    const url = postgresStateUrl(db.url, "pulumi_state");
    await prepareStateBackend(url);
    const first = await openStateStore(url);
    await first.write(".pulumi/meta.yaml", Buffer.from("version: 1\n"));
    await first.close();
    await prepareStateBackend(url);
    const again = await openStateStore(url);
    try {
      assert.equal((await again.read(".pulumi/meta.yaml"))?.toString(), "version: 1\n");
    } finally {
      await again.close();
    }
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query("SELECT count(*)::int AS n FROM pulumi_state");
      assert.equal(rows[0].n, 1);
    } finally {
      await c.end();
    }
  } finally {
    await db.drop();
  }
});
