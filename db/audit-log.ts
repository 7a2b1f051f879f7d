import type { Pool } from "pg";

/** One mutating request: who sent it, what it asked for, and how it was answered. Never its body. */
export interface AuditEntry {
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
  at: Date;
}

export interface AuditQuery {
  actor?: string;
  route?: string;
  since?: Date;
  until?: Date;
  /** Entries older than this one (the previous page's last id). */
  before?: string;
  limit: number;
}

export async function recordAudit(pool: Pool, e: AuditEntry): Promise<void> {
  await pool.query(
    `INSERT INTO audit_log (actor_id, actor_name, actor_role, method, route, target, status) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [e.actorId, e.actorName, e.actorRole, e.method, e.route, e.target, e.status],
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

/** Newest first; `actor` matches a token's id or its name. */
export async function listAudit(pool: Pool, q: AuditQuery): Promise<StoredAuditEntry[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (q.actor !== undefined) {
    const a = arg(q.actor);
    where.push(`(actor_id = ${a} OR actor_name = ${a})`);
  }
  if (q.route !== undefined) where.push(`route = ${arg(q.route)}`);
  if (q.since !== undefined) where.push(`at >= ${arg(q.since)}`);
  if (q.until !== undefined) where.push(`at < ${arg(q.until)}`);
  if (q.before !== undefined) where.push(`id < ${arg(q.before)}`);
  const { rows } = await pool.query<Row>(
    `SELECT id::text, at, actor_id, actor_name, actor_role, method, route, target, status FROM audit_log
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${arg(q.limit)}`,
    args,
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actorId: r.actor_id,
    actorName: r.actor_name,
    actorRole: r.actor_role,
    method: r.method,
    route: r.route,
    target: r.target,
    status: r.status,
  }));
}
