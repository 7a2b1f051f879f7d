import type { Queryable } from "../../db/registry";
import { Batcher } from "../../lib/batcher";
import { type DeliveryReceipt, type NewDelivery, type Receipt, recordDeliveries } from "./store";

/**
 * Stores deliveries for the receiver in batches (lib/batcher.ts): those that arrive while `maxInFlight` writes are
 * under way go in one INSERT when a write is done, instead of a statement (and a commit) each. Each is answered only
 * once the statement that stored it committed; a repeat of an id in the same batch waits for the next.
 */
export class DeliveryWriter {
  private readonly batcher: Batcher<DeliveryReceipt, boolean>;

  constructor(pool: Queryable, maxInFlight = 2, maxBatch = 64) {
    this.batcher = new Batcher(
      async (batch) => {
        const stored = await recordDeliveries(pool, batch);
        return batch.map((r) => stored.has(r.delivery.deliveryId));
      },
      maxInFlight,
      maxBatch,
      (r) => r.delivery.deliveryId,
    );
  }

  /** Stores the delivery; false: this delivery id was seen already (see recordDeliveries). */
  record(delivery: NewDelivery, receipt: Receipt): Promise<boolean> {
    return this.batcher.submit({ delivery, receipt });
  }
}
