import type { Pool } from "pg";
import { z } from "zod";
import type { Logger } from "../../lib/logger";
import type { ServerMetrics } from "../metrics";
import { applyBoardMove, type MoveResult } from "./board-moves";
import { decideBoardEvent, decideRepoEvent, type Decision, projectNodeIdOf, type RepoRules } from "./events";
import { findBoards } from "../../db/registry";
import { agentGithubLogins } from "../../dispatch/task-store";
import { RepoRulesCache } from "./registry-cache";
import { claimPendingDeliveries, finishDelivery, insertWorkItem, type PendingDelivery, type Receipt } from "./store";

/** How many deliveries one replica processes at once (the rest wait in the database for a sweep). */
export const DEFAULT_WEBHOOK_CONCURRENCY = 8;

export interface WebhookProcessingOptions {
  /** Most deliveries processed at once here (default DEFAULT_WEBHOOK_CONCURRENCY). */
  concurrency?: number;
  /** How long a claimed delivery is this replica's before another's sweep may take it (default 60 s). */
  claimMs?: number;
  /** How often the database is swept for deliveries nobody is processing (default 5 s). */
  sweepMs?: number;
  /** Where repos' registry rows are read (default: the database each time). */
  rules?: RepoRulesCache;
}

/**
 * Processes stored deliveries after they were acknowledged: GitHub gives a receiver 10 seconds, so nothing
 * slow happens before the 202. At most `concurrency` at once: the receiver reserves a slot before it stores a
 * delivery (then stores it claimed by this replica and submits it here after the 202); without a free slot the
 * delivery is stored unclaimed, for the sweep, which claims such deliveries (and those whose claim lapsed, their
 * replica having died) whenever a slot frees up after an overflow and every `sweepMs`; one replica claims each.
 * A failure lands on the delivery row (status `failed`, with the error), where a redelivery from GitHub takes it
 * up again.
 */
export class WebhookProcessor {
  readonly claimMs: number;
  private readonly running = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly sweepMs: number;
  private reserved = 0;
  /** Deliveries were left to the sweep here, and it has not yet found the database empty of them. */
  private backlog = false;
  private sweeping?: Promise<number>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly rules: RepoRulesCache;

  constructor(
    private readonly pool: Pool,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly boards: BoardMoveHooks = {},
    opts: WebhookProcessingOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? DEFAULT_WEBHOOK_CONCURRENCY;
    this.claimMs = opts.claimMs ?? 60_000;
    this.sweepMs = opts.sweepMs ?? 5_000;
    this.rules = opts.rules ?? new RepoRulesCache(pool);
  }

  /** Sweeps every `sweepMs` from now on (the first sweep at once: what a dead process left). */
  start(): void {
    this.stopped = false;
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
    void this.sweep();
  }

  /** Stops sweeping (shutdown): what is in flight here finishes, what waits in the database is another replica's. */
  stop(): void {
    this.stopped = true;
    this.backlog = false;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a slot for a delivery about to be stored; false: none is free (store it for the sweep). */
  reserve(): boolean {
    if (this.running.size + this.reserved >= this.concurrency) return false;
    this.reserved++;
    return true;
  }

  /** Gives back a reserved slot whose delivery was not stored (a duplicate, an error). */
  release(): void {
    this.reserved--;
    if (this.backlog) void this.sweep();
  }

  /** Processes a delivery stored under a reserved slot, in the background; never rejects. */
  submit(delivery: PendingDelivery): void {
    this.reserved--;
    this.run(delivery);
  }

  /** A delivery was stored unclaimed (no slot was free): the sweep takes it once one is. */
  overflowed(): void {
    this.backlog = true;
  }

  /** Resolves once every delivery submitted or left to the sweep here so far is processed (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.running.size > 0 || this.sweeping) {
        await Promise.allSettled([...this.running, this.sweeping]);
        continue;
      }
      if (!this.backlog) return;
      // Nothing claimed while a backlog is left: every slot is reserved by a delivery being stored; let it be.
      if ((await this.sweep()) === 0 && this.backlog) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Claims what free slots can take of the deliveries nobody is processing; how many it claimed. */
  recover(): Promise<number> {
    return this.sweep();
  }

  private sweep(): Promise<number> {
    this.sweeping ??= this.claimFree().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async claimFree(): Promise<number> {
    if (this.stopped) {
      this.backlog = false;
      return 0;
    }
    const free = this.concurrency - this.running.size - this.reserved;
    if (free <= 0) return 0;
    try {
      const claimed = await claimPendingDeliveries(this.pool, this.claimMs, free);
      if (claimed.length < free) this.backlog = false;
      for (const d of claimed) this.run(d);
      return claimed.length;
    } catch (err) {
      this.log.error(`sweeping webhook deliveries: ${(err as Error).message}`);
      // The next sweep (a freed slot, the timer) tries again; idle() must not spin on a database that is away.
      this.backlog = false;
      return 0;
    }
  }

  private run(delivery: PendingDelivery): void {
    const job = this.process(delivery).finally(() => {
      this.running.delete(job);
      if (this.backlog) void this.sweep();
    });
    this.running.add(job);
  }

  private async process(d: PendingDelivery): Promise<void> {
    const event = metricEvent(d.event);
    try {
      const outcome = await this.apply(d);
      await finishDelivery(this.pool, d.deliveryId, outcome.status, outcome.reason);
      this.metrics.webhookDeliveries.inc({ event, outcome: outcome.status });
    } catch (err) {
      const message = describe(err);
      this.metrics.webhookDeliveries.inc({ event, outcome: "failed" });
      const log = this.log.child({ deliveryId: d.deliveryId });
      log.error(`delivery (${d.event}) failed: ${message}`);
      await finishDelivery(this.pool, d.deliveryId, "failed", message).catch((e: Error) =>
        log.error(`recording the failure failed too: ${e.message}`),
      );
    }
  }

  private async apply(d: PendingDelivery): Promise<{ status: "processed" | "ignored"; reason?: string }> {
    if (d.repo !== null) {
      // Read again (a cached row is as current as the last change heard): the registry may have changed since.
      const rules = await this.rules.find(d.owner, d.repo);
      if (!rules) return { status: "ignored", reason: "the repository is no longer registered" };
      // Read at each delivery: an agent registered a moment ago may be commenting already.
      const identities = { agentLogins: await agentGithubLogins(this.pool) };
      return this.record(d, [[rules, decideRepoEvent(d.event, d.payload, rules, identities)]]);
    }
    if (d.event === "ping") return { status: "processed" };
    if (d.event !== "projects_v2_item") return { status: "ignored", reason: `organization event ${d.event} is not handled` };
    const boards = await findBoards(this.pool, projectNodeIdOf(d.payload));
    if (boards.length === 0) return { status: "ignored", reason: "the project is no registered repository's board" };
    return this.record(
      d,
      boards.map((b) => [b, decideBoardEvent(d.payload, b)] as const),
    );
  }

  private async record(d: PendingDelivery, decisions: (readonly [{ owner: string; repo: string }, Decision])[]) {
    let worked = false;
    let recorded = false;
    const reasons: string[] = [];
    for (const [repo, decision] of decisions) {
      if (decision.outcome === "work") {
        await insertWorkItem(this.pool, d.deliveryId, repo, decision.item);
        if (decision.item.kind === "board-update") await this.followCard(d, repo, decision.item.payload);
        worked = true;
      } else if (decision.outcome === "recorded") recorded = true;
      else reasons.push(decision.reason);
    }
    return worked || recorded ? { status: "processed" as const } : { status: "ignored" as const, reason: [...new Set(reasons)].join("; ") };
  }

  private async followCard(d: PendingDelivery, repo: { owner: string; repo: string }, payload: Record<string, unknown>): Promise<void> {
    // Without the server's login its own moves could not be told from people's: the delivery fails and is taken again.
    const login = this.boards.serverLogin ? await this.boards.serverLogin() : undefined;
    const result = await applyBoardMove(this.pool, d.deliveryId, repo, payload, login);
    if (!result) return;
    if (result.outcome === "refused") this.log.warn(`board move refused for ${repo.owner}/${repo.repo}: ${result.reason}`);
    this.boards.moved?.(result);
  }
}

/** How board moves are judged and followed up. */
export interface BoardMoveHooks {
  /** The server's own GitHub login (its board writes come back as webhooks sent by it). */
  serverLogin?: () => Promise<string>;
  /** A move was judged: the writer (and, for a task sent back to INTAKE, the dispatcher) may have work. */
  moved?: (result: MoveResult) => void;
}

/**
 * A repo delivery that needs no work (a ping, an event the repo's rules ignore) is decided before it is stored and
 * stored as done: one statement, nothing after the 202. undefined: it makes work, or its payload is not what the
 * event's schema needs (the processor records that failure), so it is processed after the 202.
 */
export function decideAtReceipt(event: string, payload: unknown, rules: RepoRules): Receipt | undefined {
  let decision: Decision;
  try {
    decision = decideRepoEvent(event, payload, rules);
  } catch {
    return undefined;
  }
  if (decision.outcome === "recorded") return { outcome: "processed" };
  return decision.outcome === "ignored" ? { outcome: "ignored", reason: decision.reason } : undefined;
}

const KNOWN_EVENTS = new Set(["ping", "issues", "issue_comment", "pull_request", "projects_v2_item"]);

/** The metric's event label: the events handled, "other" for the rest (a header is no bound on cardinality). */
export function metricEvent(event: string | undefined): string {
  return event && KNOWN_EVENTS.has(event) ? event : "other";
}

// Field paths only: a schema error never carries the payload's values into a log line or the delivery row.
function describe(err: unknown): string {
  if (err instanceof z.ZodError) return `payload lacks or mistypes ${err.issues.map((i) => i.path.join(".") || "(root)").join(", ")}`;
  return err instanceof Error ? err.message : String(err);
}
