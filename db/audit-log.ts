import type { Pool } from "pg";
import { Conditions, type Page, type PageRequest, readPage } from "./page";
import { prepared } from "./prepared";

/** One mutating request: who sent it, what it asked for, and how it was answered. Never its body. */
export interface AuditEntry {
  /** When the request arrived: the trail is in the order requests came, not in the order their entries were written. */
  at: Date;
  actorId: string;
  actorName: string;
  actorRole: string;
  method: string;
  /** The route pattern (`/v1/runs/:id/cancel`); null when no route matched. */
  route: string | null;
  target: string | null;
  status: number;
}

export interface StoredAuditEntry extends AuditEntry {
  id: string;
}

export interface AuditFilter {
  actor?: string;
  route?: string;
}

const INSERT_AUDITS = prepared(
  "audit-insert",
  `INSERT INTO audit_log (at, actor_id, actor_name, actor_role, method, route, target, status)
   SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])`,
);

/** Entries in one statement (server/audit.ts groups those of requests answered together). */
export async function recordAudits(pool: Pool, entries: readonly AuditEntry[]): Promise<void> {
  const column = <K extends keyof AuditEntry>(k: K) => entries.map((e) => e[k]);
  await pool.query(
    INSERT_AUDITS([
      column("at"),
      column("actorId"),
      column("actorName"),
      column("actorRole"),
      column("method"),
      column("route"),
      column("target"),
      column("status"),
    ]),
  );
}

type Row = {
  id: string;
  at: Date;
  actor_id: string;
  actor_name: string;
  actor_role: string;
  method: string;
  route: string | null;
  target: string | null;
  status: number;
};

/** A page of entries, newest first; `actor` matches a token's id or its name. */
export async function listAudit(pool: Pool, q: AuditFilter, page: PageRequest): Promise<Page<StoredAuditEntry>> {
  const c = new Conditions();
  if (q.actor !== undefined) {
    const a = c.arg(q.actor);
    c.add(`(actor_id = ${a} OR actor_name = ${a})`);
  }
  if (q.route !== undefined) c.add(`route = ${c.arg(q.route)}`);
  const found = await readPage<Row>(
    pool,
    {
      select: "id::text, at, actor_id, actor_name, actor_role, method, route, target, status",
      from: "audit_log",
      time: "at",
      id: "id",
      idType: "bigint",
    },
    c,
    page,
  );
  return {
    next: found.next,
    rows: found.rows.map((r) => ({
      id: r.id,
      at: r.at,
      actorId: r.actor_id,
      actorName: r.actor_name,
      actorRole: r.actor_role,
      method: r.method,
      route: r.route,
      target: r.target,
      status: r.status,
    })),
  };
}
