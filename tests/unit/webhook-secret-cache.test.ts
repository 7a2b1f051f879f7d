import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { WebhookSecretCache } from "../../server/webhooks/secret-cache";
import type { WebhookSecrets } from "../../server/webhooks/vault-kv";

const PATH = "mesh-six/webhooks/acme/widgets";
const sign = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** A cache over an in-memory store with a hand-driven clock, counting reads. */
function setup(opts: { ttlMs?: number; refreshCooldownMs?: number; fallbackSecret?: string } = {}) {
  const store = new Map<string, WebhookSecrets>([[PATH, { secret: "s1" }]]);
  const clock = { now: 0 };
  let reads = 0;
  const cache = new WebhookSecretCache({
    ...opts,
    now: () => clock.now,
    read: async (path) => {
      reads += 1;
      return store.get(path);
    },
  });
  return { store, clock, cache, reads: () => reads };
}

test("a secret is read once and trusted until its TTL has passed", async () => {
  const { cache, clock, reads } = setup({ ttlMs: 1000 });
  assert.equal(await cache.verify(PATH, "body", sign("s1", "body")), "verified");
  clock.now = 999;
  assert.equal(await cache.verify(PATH, "body", sign("s1", "body")), "verified");
  assert.equal(reads(), 1);
  clock.now = 1000;
  assert.equal(await cache.verify(PATH, "body", sign("s1", "body")), "verified");
  assert.equal(reads(), 2);
});

test("a failed check re-reads once, and forced re-reads of a path are rate-limited", async () => {
  const { cache, store, clock, reads } = setup({ refreshCooldownMs: 500 });
  assert.equal(await cache.verify(PATH, "b", sign("s1", "b")), "verified");
  store.set(PATH, { secret: "s2" });
  assert.equal(await cache.verify(PATH, "b", sign("s2", "b")), "verified");
  assert.equal(reads(), 2);
  assert.equal(await cache.verify(PATH, "b", sign("forged", "b")), "mismatch");
  assert.equal(reads(), 2, "within the cooldown a mismatch reads nothing");
  clock.now = 500;
  assert.equal(await cache.verify(PATH, "b", sign("forged", "b")), "mismatch");
  assert.equal(reads(), 3);
});

test("the previous secret and a configured fallback are accepted besides the current one", async () => {
  const { cache, store } = setup({ fallbackSecret: "global" });
  store.set(PATH, { secret: "new", previous: "old" });
  for (const s of ["new", "old", "global"]) assert.equal(await cache.verify(PATH, "b", sign(s, "b")), "verified", s);
  assert.equal(await cache.verify(PATH, "b", sign("other", "b")), "mismatch");
});

test("a path without a secret is unknown, even with a fallback secret, and concurrent checks share one read", async () => {
  const { cache, reads } = setup({ fallbackSecret: "global" });
  assert.equal(await cache.verify("mesh-six/webhooks/acme/none", "b", sign("global", "b")), "unknown");
  const before = reads();
  const verdicts = await Promise.all(Array.from({ length: 5 }, () => cache.verify(PATH, "b", sign("s1", "b"))));
  assert.deepEqual(verdicts, Array(5).fill("verified"));
  assert.equal(reads() - before, 1);
});

test("an empty body or signature never verifies", async () => {
  const { cache } = setup();
  assert.equal(await cache.verify(PATH, "", sign("s1", "")), "mismatch");
  assert.equal(await cache.verify(PATH, "b", ""), "mismatch");
});
