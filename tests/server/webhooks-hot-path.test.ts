/**
 * The webhook receiver's hot path against a real database: registry rows cached while every change is heard
 * (and forgotten on one made by another replica), deliveries stored in batches that answer each one only after
 * its row committed, and processing bounded, the overflow left for a sweep that one replica claims.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Pool } from "pg";
import { listenForWakeups } from "../../db/wakeups";
import { createMetrics } from "../../server/metrics";
import { DeliveryWriter } from "../../server/webhooks/delivery-writer";
import { WebhookProcessor } from "../../server/webhooks/processor";
import { RepoRulesCache } from "../../server/webhooks/registry-cache";
import type { NewDelivery } from "../../server/webhooks/store";
import { createTestDatabase, type TestDatabase } from "../../testkit/database";
import { quietLogger } from "../../testkit/log-capture";
import { waitFor } from "../../testkit/server";
import { issuePayload, registerRepo } from "../../testkit/webhooks";

const dbs: TestDatabase[] = [];
after(async () => Promise.all(dbs.map((d) => d.drop())));

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase("hot");
  dbs.push(db);
  return db;
}

/** The pool's query, counted. */
function counting(pool: Pool) {
  const counter = {
    statements: 0,
    query: ((...args: Parameters<Pool["query"]>) => (counter.statements++, pool.query(...args))) as Pool["query"],
  };
  return counter;
}

test("registry rows are read once while the listener hears changes, forgotten on another replica's change, and not trusted while it is down", async () => {
  const db = await database();
  const repo = await registerRepo({ db }, { labels: ["agents"] }, null);
  const counter = counting(db.pool);
  const cache = new RepoRulesCache(counter);
  let up = false;
  const listener = listenForWakeups(db.url, { mesh_six_registry: (key) => cache.changed(key) }, quietLogger(), {
    up: () => ((up = true), cache.listening()),
    down: () => cache.deaf(),
  });
  try {
    await waitFor(() => up, "the listener to listen", 5000);
    assert.deepEqual((await cache.find(repo.owner, repo.repo))?.labels, ["agents"]);
    // GitHub's casing of the names is not the registry's: the same row either way.
    assert.deepEqual((await cache.find(repo.owner.toUpperCase(), repo.repo.toLowerCase()))?.labels, ["agents"]);
    assert.equal(counter.statements, 1, "the second read is the cached row");

    // Another replica (any other connection) changes the row: this one's cache hears it on commit.
    await db.pool.query(`UPDATE repo_registry SET labels = '["planning"]' WHERE owner = $1`, [repo.owner]);
    await waitFor(async () => (await cache.find(repo.owner, repo.repo))?.labels[0] === "planning", "the change to be heard", 5000);
    await db.pool.query("DELETE FROM repo_registry WHERE owner = $1", [repo.owner]);
    await waitFor(async () => (await cache.find(repo.owner, repo.repo)) === undefined, "the removal to be heard", 5000);

    await listener.stop();
    await registerRepo({ db }, { labels: ["agents"] }, null, repo.owner);
    const before = counter.statements;
    assert.deepEqual((await cache.find(repo.owner, repo.repo))?.labels, ["agents"]);
    assert.deepEqual((await cache.find(repo.owner, repo.repo))?.labels, ["agents"]);
    assert.equal(counter.statements, before + 2, "without a listener every read goes to the database");
  } finally {
    await listener.stop();
  }
});

const delivery = (deliveryId: string, owner: string, payload: unknown = { action: "opened" }): NewDelivery => ({
  deliveryId,
  owner,
  repo: "Widgets",
  event: "issues",
  action: "opened",
  payload,
});

test("deliveries arriving together are stored in fewer statements, each answered as stored or a repeat, and a row the database refuses fails alone", async () => {
  const db = await database();
  const counter = counting(db.pool);
  const writer = new DeliveryWriter(counter, 1);
  const ignored = { outcome: "ignored", reason: "no label" } as const;
  const answers = await Promise.all([
    writer.record(delivery("d-0", "acme"), ignored),
    writer.record(delivery("d-1", "acme"), ignored),
    writer.record(delivery("d-2", "acme"), { outcome: "received", claimMs: null }),
    writer.record(delivery("d-1", "acme"), ignored),
    writer.record(delivery("d-3", "acme"), ignored),
  ]);
  assert.deepEqual(answers, [true, true, true, false, true]);
  // One write in flight: the first alone, the next three together while it ran, the repeat of d-1 (which one
  // statement cannot store twice) after them.
  assert.equal(counter.statements, 3);
  const { rows } = await db.pool.query<{ delivery_id: string; status: string; payload: unknown; processed_at: Date | null }>(
    "SELECT delivery_id, status, payload, processed_at FROM webhook_deliveries ORDER BY delivery_id",
  );
  assert.deepEqual(
    rows.map((r) => [r.delivery_id, r.status, r.payload === null, r.processed_at !== null]),
    [
      ["d-0", "ignored", true, true],
      ["d-1", "ignored", true, true],
      ["d-2", "received", false, false],
      ["d-3", "ignored", true, true],
    ],
  );

  // PostgreSQL's jsonb refuses \u0000: that delivery fails, the one batched with it is stored.
  const [bad, good] = await Promise.allSettled([
    writer.record(delivery("d-4", "acme", { text: "nul \u0000" }), { outcome: "received", claimMs: null }),
    writer.record(delivery("d-5", "acme"), { outcome: "received", claimMs: null }),
    writer.record(delivery("d-6", "acme"), ignored),
  ]);
  assert.equal(bad.status, "rejected");
  assert.deepEqual(good, { status: "fulfilled", value: true });
  const stored = await db.pool.query("SELECT delivery_id FROM webhook_deliveries WHERE delivery_id IN ('d-4', 'd-5', 'd-6') ORDER BY 1");
  assert.deepEqual(
    stored.rows.map((r) => r.delivery_id),
    ["d-5", "d-6"],
  );
});

test("processing is bounded: a delivery without a free slot waits in the database and one replica's sweep takes it", async () => {
  const db = await database();
  const repo = await registerRepo({ db }, { labels: ["agents"] }, null);
  const metrics = createMetrics(db.pool);
  const replica = (name: string) => new WebhookProcessor(db.pool, metrics, quietLogger().child({ name }), {}, { concurrency: 1 });
  const a = replica("a");
  const b = replica("b");
  const c = replica("c");
  const writer = new DeliveryWriter(db.pool);
  const work = (id: string, n: number) =>
    delivery(id, repo.owner, JSON.parse(issuePayload(repo.fullName, { labels: ["agents"], number: n })));

  assert.equal(a.reserve(), true);
  assert.equal(a.reserve(), false, "one slot, reserved");
  assert.equal(await writer.record(work("w-1", 1), { outcome: "received", claimMs: a.claimMs }), true);
  a.submit(work("w-1", 1));
  assert.equal(await writer.record(work("w-2", 2), { outcome: "received", claimMs: null }), true);
  a.overflowed();

  // b and c sweep at once: only one of them claims w-2, and neither takes w-1, claimed by a.
  const claimed = await Promise.all([b.recover(), c.recover()]);
  assert.deepEqual(claimed.sort(), [0, 1]);
  await Promise.all([a.idle(), b.idle(), c.idle()]);
  const { rows } = await db.pool.query<{ delivery_id: string; status: string; items: number }>(
    `SELECT d.delivery_id, d.status, (SELECT count(*)::int FROM webhook_work_items w WHERE w.delivery_id = d.delivery_id) AS items
     FROM webhook_deliveries d ORDER BY 1`,
  );
  assert.deepEqual(
    rows.map((r) => [r.delivery_id, r.status, r.items]),
    [
      ["w-1", "processed", 1],
      ["w-2", "processed", 1],
    ],
  );
  assert.equal(a.reserve(), true, "the slot is free again");
  a.release();
});
