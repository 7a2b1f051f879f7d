import assert from "node:assert/strict";
import { test } from "node:test";
import { Batcher } from "../../lib/batcher";

/** A write that records each batch it is given and is held open until released. */
function heldWrites() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const write = async (items: number[]) => {
    batches.push([...items]);
    await new Promise<void>((resolve) => releases.push(resolve));
    if (items.includes(13) && items.length > 1) throw new Error("the batch holds 13");
    if (items.includes(13)) throw new Error("13 is refused");
    return items.map((i) => i * 10);
  };
  return { batches, releases, write };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test("items submitted while a write is under way go together in the next, each answered with its own result once it settled", async () => {
  const w = heldWrites();
  const batcher = new Batcher(w.write, 1, 3);
  let answered = 0;
  const results = [1, 2, 3, 4, 5].map((i) => batcher.submit(i).then((r) => (answered++, r)));
  await settle();
  assert.deepEqual(w.batches, [[1]], "the first goes alone; the others wait for it");
  assert.equal(answered, 0, "nothing is answered before its write settles");
  w.releases[0]();
  await settle();
  assert.deepEqual(w.batches, [[1], [2, 3, 4]], "then the waiting ones together, at most maxBatch of them");
  assert.equal(answered, 1);
  w.releases[1]();
  await settle();
  w.releases[2]();
  assert.deepEqual(await Promise.all(results), [10, 20, 30, 40, 50]);
  assert.deepEqual(w.batches, [[1], [2, 3, 4], [5]]);
});

test("a batch that fails is written again one item at a time: the refused item fails alone", async () => {
  const w = heldWrites();
  const batcher = new Batcher(w.write, 1);
  const first = batcher.submit(1);
  const rest = Promise.allSettled([12, 13, 14].map((i) => batcher.submit(i)));
  // Release every write as it comes: the first, the failing batch, then each item of it alone.
  for (let n = 0; n < 5; n++) {
    await settle();
    w.releases[n]?.();
  }
  assert.equal(await first, 10);
  const [a, b, c] = await rest;
  assert.deepEqual(a, { status: "fulfilled", value: 120 });
  assert.equal(b.status, "rejected");
  assert.match(String((b as PromiseRejectedResult).reason), /13 is refused/);
  assert.deepEqual(c, { status: "fulfilled", value: 140 });
  assert.deepEqual(w.batches, [[1], [12, 13, 14], [12], [13], [14]]);
});

test("items of one key never share a write: a repeat waits for the next, the others keep their order", async () => {
  const w = heldWrites();
  const batcher = new Batcher(w.write, 1, 10, (i) => String(i % 100));
  const results = [1, 2, 102, 3, 202].map((i) => batcher.submit(i));
  await settle();
  w.releases[0]();
  await settle();
  assert.deepEqual(w.batches, [[1], [2, 3]], "102 and 202 share 2's key");
  w.releases[1]();
  await settle();
  w.releases[2]();
  await settle();
  w.releases[3]();
  assert.deepEqual(await Promise.all(results), [10, 20, 1020, 30, 2020]);
  assert.deepEqual(w.batches, [[1], [2, 3], [102], [202]]);
});
