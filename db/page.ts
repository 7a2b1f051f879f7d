import type { Queryable } from "./registry";

/**
 * The one way a history list pages: newest first by (time, id), from a keyset cursor, so that rows with equal
 * times are neither repeated nor skipped between pages and a page costs an index scan of its own rows
 * (db/migrations/017_history_pages.sql). The cursor's text is the server's (server/pagination.ts).
 */

/** The (time, id) of a page's last row; `at` is microseconds since the epoch, the precision PostgreSQL keeps. */
export interface PageKey {
  at: string;
  id: string;
}

export interface PageRequest {
  /** Rows at or after this time (RFC 3339 text: PostgreSQL reads it to the microsecond, a Date would not). */
  since?: string;
  /** Rows before this time (the same). */
  until?: string;
  /** Rows older than this key (the previous page's `next`). */
  after?: PageKey;
  limit: number;
}

export interface Page<R> {
  rows: R[];
  /** Where the next page starts; null on the last page. */
  next: PageKey | null;
}

/** A list's conditions and their parameters, numbered as they are added. */
export class Conditions {
  readonly where: string[] = [];
  readonly args: unknown[] = [];

  /** The placeholder of a new parameter. */
  arg(value: unknown): string {
    this.args.push(value);
    return `$${this.args.length}`;
  }

  add(sql: string): this {
    this.where.push(sql);
    return this;
  }
}

/** What a list selects from where, and which columns order it. */
export interface PagedTable {
  select: string;
  from: string;
  time: string;
  id: string;
  /** The id column's type, so that a cursor's id is compared as the column is. */
  idType: "uuid" | "text" | "bigint";
}

export async function readPage<R>(db: Queryable, table: PagedTable, c: Conditions, page: PageRequest): Promise<Page<R>> {
  const { time, id } = table;
  if (page.since) c.add(`${time} >= ${c.arg(page.since)}::timestamptz`);
  if (page.until) c.add(`${time} < ${c.arg(page.until)}::timestamptz`);
  if (page.after) {
    // Integer microseconds added to the epoch: exact, where a Date (milliseconds) would round the key.
    const at = `'epoch'::timestamptz + ${c.arg(page.after.at)}::bigint * interval '1 microsecond'`;
    c.add(`(${time}, ${id}) < (${at}, ${c.arg(page.after.id)}::${table.idType})`);
  }
  // One more than asked for tells whether there is a next page.
  const limit = c.arg(page.limit + 1);
  const { rows } = await db.query<R & { page_at: string; page_id: string }>(
    `SELECT ${table.select}, (extract(epoch FROM ${time}) * 1000000)::bigint::text AS page_at, ${id}::text AS page_id
     FROM ${table.from} ${c.where.length ? `WHERE ${c.where.join(" AND ")}` : ""}
     ORDER BY ${time} DESC, ${id} DESC LIMIT ${limit}`,
    c.args,
  );
  const kept = rows.slice(0, page.limit);
  const last = kept[kept.length - 1];
  const next = rows.length > page.limit && last ? { at: last.page_at, id: last.page_id } : null;
  for (const row of kept) {
    delete (row as Partial<typeof row>).page_at;
    delete (row as Partial<typeof row>).page_id;
  }
  return { rows: kept, next };
}
