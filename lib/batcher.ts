/**
 * Group commit for one kind of write: items submitted while `maxInFlight` writes are under way wait and go together
 * in the next one (one statement, one commit, at most `maxBatch` items), instead of a round trip each. Each caller's
 * promise settles only once the write that carried its item settled: a caller told "done" knows its row is committed.
 * A batch that fails is written again one item at a time, so that an item the database refuses fails alone. Items
 * of one key (`keyOf`) never share a write, a repeat waiting for the next: one statement cannot store a row twice.
 */
export class Batcher<I, O> {
  private readonly queue: { item: I; done: (out: O) => void; failed: (err: unknown) => void }[] = [];
  private inFlight = 0;

  /** `write` answers with one result per item, in the items' order. */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 64,
    private readonly keyOf?: (item: I) => string,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((done, failed) => {
      this.queue.push({ item, done, failed });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private take(): typeof this.queue {
    if (!this.keyOf) return this.queue.splice(0, this.maxBatch);
    const keys = new Set<string>();
    const batch: typeof this.queue = [];
    for (let i = 0; i < this.queue.length && batch.length < this.maxBatch;) {
      const key = this.keyOf(this.queue[i].item);
      if (keys.has(key)) {
        i++;
        continue;
      }
      keys.add(key);
      batch.push(...this.queue.splice(i, 1));
    }
    return batch;
  }

  private async run(batch: typeof this.queue): Promise<void> {
    try {
      const out = await this.write(batch.map((w) => w.item));
      batch.forEach((w, i) => w.done(out[i]));
    } catch (err) {
      if (batch.length === 1) return batch[0].failed(err);
      for (const w of batch) {
        await this.write([w.item]).then(
          (out) => w.done(out[0]),
          (e: unknown) => w.failed(e),
        );
      }
    }
  }
}
