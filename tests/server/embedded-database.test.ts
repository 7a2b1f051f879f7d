import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Client, Pool } from "pg";
import { claimNextRun, createRun } from "../../runs/run-store";
import { startEmbeddedDatabase } from "../../db/embedded";
import { migrate } from "../../db/migrate";

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

test("concurrent clients of the embedded database never meet each other's statements", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-pglite-"));
  const db = await startEmbeddedDatabase({ dataDir: dir });
  // Two pools like the server's and a dynamic provider's: transactions with parameters against single statements.
  const a = new Pool({ connectionString: db.url, max: 4 });
  const b = new Pool({ connectionString: db.url, max: 4 });
  try {
    const errors: string[] = [];
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      jobs.push(
        (async () => {
          const c = await a.connect();
          try {
            await c.query("BEGIN");
            const { rows } = await c.query("SELECT $1::int + $2::int AS x", [i, 1]);
            assert.equal(rows[0].x, i + 1);
            await c.query("COMMIT");
          } finally {
            c.release();
          }
        })().catch((err: Error) => errors.push(err.message)),
      );
      jobs.push(
        b.query("SELECT $1::text AS y", [String(i)]).then(
          ({ rows }) => assert.equal(rows[0].y, String(i)),
          (err: Error) => errors.push(err.message),
        ),
      );
    }
    await Promise.all(jobs);
    assert.deepEqual(errors, []);
  } finally {
    await a.end();
    await b.end();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
