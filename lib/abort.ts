/** Abort plumbing shared by the run queue, the dispatcher and the post-up steps. */

/** Why a worker aborted its own work: another worker holds the lease now. */
export class LeaseLost extends Error {
  override readonly name = "LeaseLost";
}

/** Why a worker aborted its own work: it is stopping. */
export class ShuttingDown extends Error {
  override readonly name = "ShuttingDown";
}

/** Waits `ms`; rejects with the signal's own reason when it aborts (callers tell the reasons apart). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
