import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Client, Pool } from "pg";
import { claimNextRun, createRun } from "../../runs/run-store";
import { startEmbeddedDatabase } from "../../db/embedded";
import { migrate } from "../../db/migrate";
import { prepared, UnpreparedClient } from "../../db/prepared";

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

test("a prepared statement runs on every connection of the embedded database through UnpreparedClient, and only so", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-pglite-"));
  const db = await startEmbeddedDatabase({ dataDir: dir });
  const plain = new Pool({ connectionString: db.url, max: 2 });
  const unprepared = new Pool({ connectionString: db.url, max: 2, Client: UnpreparedClient });
  const statement = prepared("embedded-test", "SELECT $1::int + 1 AS x");
  // Two connections held at once, each running the same named statement.
  const onTwoConnections = async (pool: Pool) => {
    const clients = [await pool.connect(), await pool.connect()];
    try {
      return await Promise.allSettled(clients.map(async (c, i) => (await c.query<{ x: number }>(statement([i]))).rows[0].x));
    } finally {
      for (const c of clients) c.release();
    }
  };
  try {
    const [first, second] = await onTwoConnections(plain);
    assert.deepEqual(first, { status: "fulfilled", value: 1 });
    // PGlite is one session: the second connection's Parse of the name meets the first one's statement.
    assert.equal(second.status, "rejected");
    assert.match(String((second as PromiseRejectedResult).reason), /already exists/);
    assert.deepEqual(
      (await onTwoConnections(unprepared)).map((r) => r.status === "fulfilled" && r.value),
      [1, 2],
    );
  } finally {
    await plain.end();
    await unprepared.end();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
