/**
 * Group commit for one kind of write: items submitted while `maxInFlight` writes are under way wait and go together
 * in the next one (one statement, one commit, at most `maxBatch` items), instead of a round trip each. Each caller's
 * promise settles only once the write that carried its item settled: a caller told "done" knows its row is committed.
 * A batch that fails is written again one item at a time, so that an item the database refuses fails alone.
 */
export class Batcher<I, O> {
  private readonly queue: { item: I; done: (out: O) => void; failed: (err: unknown) => void }[] = [];
  private inFlight = 0;

  /** `write` answers with one result per item, in the items' order. */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 64,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((done, failed) => {
      this.queue.push({ item, done, failed });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
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
