import { findRepoRules, type Queryable, type RegisteredRules } from "../../db/registry";
import type { DeliveryFilters } from "../../domain/repo-config";
import { repoFilters } from "./filters";

/** A registered repo's rules as deliveries are judged by them: its filters with their defaults filled in. */
export type WebhookRules = Omit<RegisteredRules, "filters"> & { filters: DeliveryFilters };

/**
 * The registry rows webhook deliveries are checked against, kept in memory while this process hears every change
 * to them (migration 020: a trigger NOTIFYs `mesh_six_registry` with the changed repo on commit). It is trusted
 * only while the listening connection is up: before the first LISTEN, and from a lost connection until the next
 * one, every read goes to the database; a reconnection forgets everything (changes made meanwhile went unheard).
 * A read that was under way when a change was heard is not kept (it may predate the change). Unknown repos are
 * not kept: anyone can send deliveries to any URL, and the map must not grow with them.
 */
export class RepoRulesCache {
  private readonly rows = new Map<string, WebhookRules>();
  private generation = 0;
  private hearing = false;

  constructor(private readonly db: Queryable) {}

  async find(owner: string, repo: string): Promise<WebhookRules | undefined> {
    const key = keyOf(owner, repo);
    const cached = this.hearing ? this.rows.get(key) : undefined;
    if (cached) return cached;
    const generation = this.generation;
    const row = await findRepoRules(this.db, owner, repo);
    const rules = row && { ...row, filters: repoFilters(row.filters) };
    if (rules && this.hearing && generation === this.generation) this.rows.set(key, rules);
    return rules;
  }

  /** A notification: the repo `key` ("owner/repo", lower case) changed; empty: any may have. */
  changed(key?: string): void {
    this.generation++;
    if (key) this.rows.delete(key);
    else this.rows.clear();
  }

  /** The listener is up: every change from now on is heard. */
  listening(): void {
    this.changed();
    this.hearing = true;
  }

  /** The listener is down: changes may go unheard, so nothing is trusted until it is up again. */
  deaf(): void {
    this.hearing = false;
    this.changed();
  }
}

const keyOf = (owner: string, repo: string) => `${owner.toLowerCase()}/${repo.toLowerCase()}`;
