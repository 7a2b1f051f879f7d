import type { Pool } from "pg";
import { z } from "zod";
import type { Logger } from "../../lib/logger";
import type { ServerMetrics } from "../metrics";
import { applyBoardMove, type MoveResult } from "./board-moves";
import { repoFilters } from "./filters";
import { decideBoardEvent, decideRepoEvent, type Decision, projectNodeIdOf } from "./events";
import { findBoards, findRepoRules } from "../../db/registry";
import { agentGithubLogins } from "../../dispatch/task-store";
import { finishDelivery, insertWorkItem, type PendingDelivery, pendingDeliveries } from "./store";

/**
 * Processes stored deliveries after they were acknowledged: GitHub gives a receiver 10 seconds, so nothing
 * slow happens before the 202. A failure lands on the delivery row (status `failed`, with the error), where
 * a redelivery from GitHub or `recover` takes it up again.
 */
export class WebhookProcessor {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly pool: Pool,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly boards: BoardMoveHooks = {},
  ) {}

  /** Starts processing in the background; never rejects. */
  submit(delivery: PendingDelivery): void {
    const job = this.process(delivery).finally(() => this.running.delete(job));
    this.running.add(job);
  }

  /** Resolves once every delivery submitted so far is processed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Takes up deliveries a dead process acknowledged but never processed. */
  async recover(olderThanMs = 60_000): Promise<number> {
    const pending = await pendingDeliveries(this.pool, olderThanMs);
    for (const delivery of pending) this.submit(delivery);
    return pending.length;
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
      // Read again: the registry may have changed since the delivery was accepted.
      const row = await findRepoRules(this.pool, d.owner, d.repo);
      if (!row) return { status: "ignored", reason: "the repository is no longer registered" };
      const rules = { ...row, filters: repoFilters(row.filters) };
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
