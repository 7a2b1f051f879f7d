import type { Pool } from "pg";

/**
 * Reads of the repos the server knows: those in repo_registry (written by their stacks) and those with an
 * onboarding run, registered yet or not.
 */
export interface KnownRepo {
  owner: string;
  repo: string;
  stackName: string;
  registry: Record<string, unknown> | null;
}

// Registry spelling first (it is GitHub's), then the newest run's.
const KNOWN = `
  SELECT DISTINCT ON (k.stack_name) k.stack_name, k.owner, k.repo, to_jsonb(rr) AS registry
  FROM (
    SELECT stack_name, owner, repo, 0 AS pri, 0::bigint AS seq FROM repo_registry
    UNION ALL
    SELECT stack_name, owner, repo, 1, seq FROM runs WHERE kind IN ('onboard', 'update')
  ) k
  LEFT JOIN repo_registry rr ON rr.stack_name = k.stack_name`;

type Row = { stack_name: string; owner: string; repo: string; registry: Record<string, unknown> | null };

function toKnown(row: Row): KnownRepo {
  return { owner: row.owner, repo: row.repo, stackName: row.stack_name, registry: row.registry ? camelKeys(row.registry) : null };
}

function camelKeys(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v]));
}

export async function listKnownRepos(pool: Pool): Promise<KnownRepo[]> {
  const { rows } = await pool.query<Row>(`${KNOWN} ORDER BY k.stack_name, k.pri, k.seq DESC`);
  return rows.map(toKnown);
}

export async function findKnownRepo(pool: Pool, stackName: string): Promise<KnownRepo | undefined> {
  const { rows } = await pool.query<Row>(`${KNOWN} WHERE k.stack_name = $1 ORDER BY k.stack_name, k.pri, k.seq DESC`, [stackName]);
  return rows[0] ? toKnown(rows[0]) : undefined;
}
