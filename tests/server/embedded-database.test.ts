import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Client, Pool } from "pg";
import { claimNextRun, createRun } from "../../automation/run-store";
import { startEmbeddedDatabase } from "../../server/db/embedded";
import { migrate } from "../../server/db/migrate";

test("without DATABASE_URL the embedded PGlite serves migrations, the queue and other clients over TCP", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-pglite-"));
  const db = await startEmbeddedDatabase({ dataDir: dir });
  const pool = new Pool({ connectionString: db.url, max: 4 });
  try {
    assert.match(db.url, /^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
    assert.ok((await migrate(pool)).includes("002_runs.sql"));
    for (const repo of ["widgets", "widgets", "gadgets"]) {
      await createRun(pool, { kind: "onboard", owner: "acme", repo, stackName: `acme.${repo}`, request: { owner: "acme", repo } });
    }
    // Claims from several connections at once: one per stack, within the cap.
    const opts = { leaseOwner: "w", leaseMs: 10_000, concurrency: 5 };
    const claimed = (await Promise.all([1, 2, 3].map(() => claimNextRun(pool, opts)))).filter((r) => r !== undefined);
    assert.deepEqual(claimed.map((r) => r.stackName).sort(), ["acme.gadgets", "acme.widgets"]);

    // What a dynamic provider (another process) does: its own connection, through the same URL.
    const other = new Client({ connectionString: db.url });
    await other.connect();
    const { rows } = await other.query("SELECT count(*)::int AS n FROM runs WHERE status = 'running'");
    await other.end();
    assert.equal(rows[0].n, 2);
  } finally {
    await pool.end();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
