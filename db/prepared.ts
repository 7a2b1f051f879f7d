import { Client, type ClientConfig, type QueryConfig } from "pg";

/**
 * A statement PostgreSQL parses and plans once per connection, then runs from its cached plan. For the statements of
 * the hot paths (a claim per delivery answered, an insert per batch of tasks or deliveries): planning the claim cost
 * PostgreSQL as much as running it (pg_stat_statements over 2000 dispatched tasks: 0.44 ms planning, 0.44 ms
 * executing, per claim).
 *
 * Its result columns are named, never `*` (a `*` inside a CTE or a function's argument is fine): a prepared statement
 * whose result row type changes, when another replica's migration adds a column in a rolling update, fails with
 * "cached plan must not change result type" on every connection that prepared it, until that connection closes.
 */
export function prepared(name: string, text: string): (values: unknown[]) => QueryConfig {
  return (values) => ({ name, text, values });
}

/** The same query with its statement's name dropped; a Submittable (a cursor, a stream) is passed as it is. */
function unnamed(query: unknown): unknown {
  if (!query || typeof query !== "object" || !("name" in query) || "submit" in query) return query;
  const { name: _name, ...rest } = query as QueryConfig;
  return rest;
}

/**
 * For the embedded database: PGlite is one session behind every connection (db/embedded.ts), so a statement prepared
 * by one connection exists for all of them and a second connection's Parse of the same name is refused. Its
 * connections send every statement unnamed (parsed and planned each time, as an unprepared one is).
 */
export class UnpreparedClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((first: unknown, ...rest: unknown[]) => query(unnamed(first), ...rest)) as Client["query"];
  }
}
