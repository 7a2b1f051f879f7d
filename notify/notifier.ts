import type { Pool } from "pg";
import { fullJitterDelay } from "../dispatch/dispatcher";
import { ShuttingDown } from "../lib/abort";
import { defaultLogger, type Logger } from "../lib/logger";
import { newWorkerId, WorkerLoop } from "../lib/worker-loop";
import { type ClaimedDelivery, claimDelivery, type FailedOutcome, markDelivered, retryDelivery } from "./delivery-store";
import { ntfyRequest, type OutgoingRequest, webhookRequest } from "./messages";

export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

export interface NotifierOptions {
  pool: Pool;
  /** The server's public URL: links in notifications point under it. */
  publicUrl: string;
  /** A webhook subscription's signing secret (kept in Vault); undefined when none is to be had. */
  secretOf?: (subscriptionId: string) => Promise<string | undefined>;
  /** How long one receiver may take to answer before the attempt counts as failed. */
  timeoutMs?: number;
  /** Full-jitter backoff between attempts of one delivery, persisted; deliveries are retried until they land. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Most deliveries in flight from this worker at once. */
  concurrency?: number;
  pollMs?: number;
  workerId?: string;
  log?: Logger;
  random?: () => number;
}

interface Failure {
  outcome: FailedOutcome;
  error: string;
  httpStatus?: number;
}

class NotSent extends Error {
  override readonly name = "NotSent";
}

/**
 * Drains the notification outbox: each claimed delivery is one POST to its subscription's webhook or ntfy
 * server, bounded by a timeout; 2xx is delivered, anything else is tried again after a growing pause. Deliveries
 * are claimed per subscription (one in flight each), so a receiver that hangs costs one slot and its own
 * deliveries' time, never another receiver's.
 */
export class Notifier {
  readonly workerId: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly loop: WorkerLoop<ClaimedDelivery>;
  // A subscription's secret never changes (a new secret is a new subscription), so it is read from Vault once.
  private readonly secrets = new Map<string, string>();

  constructor(private readonly opts: NotifierOptions) {
    this.pool = opts.pool;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
    // One bounded request per claim: the lease outlives it with room to record the outcome, so it needs no renewal.
    this.leaseMs = this.timeoutMs + 30_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.retryBaseMs = opts.retryBaseMs ?? 1_000;
    this.retryMaxMs = opts.retryMaxMs ?? 5 * 60_000;
    this.random = opts.random ?? Math.random;
    this.workerId = opts.workerId ?? newWorkerId("/notify");
    this.log = opts.log ?? defaultLogger().child({ component: "notify" });
    this.loop = new WorkerLoop<ClaimedDelivery>({
      concurrency: opts.concurrency ?? 8,
      pollMs: this.pollMs,
      claim: () => claimDelivery(this.pool, this.workerId, this.leaseMs),
      key: (d) => d.id,
      work: (d, controller) => this.deliver(d, controller.signal),
      name: "notification loop",
      log: this.log,
    });
  }

  start(): void {
    void this.loop.start();
  }

  kick(): void {
    this.loop.kick();
  }

  /** Lets requests under way end for a moment, then aborts them: each goes back to the outbox, due at once. */
  async stop(): Promise<void> {
    const abortAt = Date.now() + Math.min(this.timeoutMs, 1_000);
    await this.loop.stop({ abortAt, deadline: abortAt + 2_000, reason: new ShuttingDown("the server is stopping") });
  }

  private async deliver(d: ClaimedDelivery, stopping: AbortSignal): Promise<void> {
    let failure: Failure;
    try {
      const req = await this.request(d);
      const res = await fetch(req.url, {
        method: "POST",
        headers: req.headers,
        body: req.body,
        // A redirect is not a delivery: the signed body would go somewhere nobody subscribed.
        redirect: "manual",
        signal: AbortSignal.any([stopping, AbortSignal.timeout(this.timeoutMs)]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await markDelivered(this.pool, d, this.workerId, res.status);
        return;
      }
      failure = { outcome: "http_error", error: `HTTP ${res.status}`, httpStatus: res.status };
    } catch (err) {
      failure = this.failureOf(err as Error, stopping);
    }
    // Stopped: due again at once, for whichever worker is next.
    const delay = failure.outcome === "interrupted" ? 0 : fullJitterDelay(d.attempt, this.retryBaseMs, this.retryMaxMs, this.random);
    await retryDelivery(this.pool, d, this.workerId, { ...failure, retryInMs: delay });
    if (failure.outcome === "interrupted") return;
    this.log.warn(`notification ${d.deliveryId} (${d.kind}, ${d.channel}) attempt ${d.attempt}: ${failure.error}; next in ${delay} ms`);
    if (delay <= this.pollMs) setTimeout(() => this.kick(), delay).unref();
  }

  private failureOf(err: Error, stopping: AbortSignal): Failure {
    if (stopping.aborted) return { outcome: "interrupted", error: "the worker stopped" };
    if (err instanceof NotSent) return { outcome: "not_sent", error: err.message };
    if (err.name === "TimeoutError") return { outcome: "timeout", error: `no answer within ${this.timeoutMs} ms` };
    // fetch's own message is "fetch failed"; the cause says why (ECONNREFUSED…). Never the URL: it may hold credentials.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { outcome: "unreachable", error: cause?.code ?? cause?.message ?? err.message };
  }

  private async request(d: ClaimedDelivery): Promise<OutgoingRequest> {
    if (d.channel === "ntfy") return ntfyRequest(d, this.opts.publicUrl);
    const secret = await this.secretOf(d.subscriptionId);
    return webhookRequest(d, this.opts.publicUrl, secret);
  }

  private async secretOf(subscriptionId: string): Promise<string> {
    const cached = this.secrets.get(subscriptionId);
    if (cached) return cached;
    if (!this.opts.secretOf) throw new NotSent("no secret store is configured to sign with (VAULT_ADDR, VAULT_TOKEN)");
    let secret: string | undefined;
    try {
      secret = await this.opts.secretOf(subscriptionId);
    } catch (err) {
      throw new NotSent(`the signing secret could not be read: ${(err as Error).message}`);
    }
    if (!secret) throw new NotSent("the subscription's signing secret is missing from the secret store");
    this.secrets.set(subscriptionId, secret);
    return secret;
  }
}
