import type { Queryable } from "../../db/registry";
import { type DeliveryReceipt, type NewDelivery, type Receipt, recordDeliveries } from "./store";

interface Waiting extends DeliveryReceipt {
  done: (fresh: boolean) => void;
  failed: (err: unknown) => void;
}

/**
 * Stores deliveries for the receiver in batches: those that arrive while `maxInFlight` writes are under way wait
 * and go in one INSERT when a write is done, instead of a statement (and a commit) each. Each is answered only
 * once the statement that stored it committed. A batch that fails is written again one delivery at a time, so
 * that a delivery the database refuses fails alone.
 */
export class DeliveryWriter {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: Queryable,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 64,
  ) {}

  /** Stores the delivery; false: this delivery id was seen already (see recordDeliveries). */
  record(delivery: NewDelivery, receipt: Receipt): Promise<boolean> {
    return new Promise((done, failed) => {
      this.queue.push({ delivery, receipt, done, failed });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  // A repeat of an id already in the batch waits for the next one: one statement cannot store a row twice.
  private take(): Waiting[] {
    const ids = new Set<string>();
    const batch: Waiting[] = [];
    for (let i = 0; i < this.queue.length && batch.length < this.maxBatch;) {
      const w = this.queue[i];
      if (ids.has(w.delivery.deliveryId)) {
        i++;
        continue;
      }
      ids.add(w.delivery.deliveryId);
      batch.push(w);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const stored = await recordDeliveries(this.pool, batch);
      for (const w of batch) w.done(stored.has(w.delivery.deliveryId));
    } catch (err) {
      if (batch.length === 1) return batch[0].failed(err);
      for (const w of batch) {
        await recordDeliveries(this.pool, [w]).then(
          (stored) => w.done(stored.has(w.delivery.deliveryId)),
          (e: unknown) => w.failed(e),
        );
      }
    }
  }
}
