import type { Pool, PoolClient } from "pg";
import { TEXT_FIELDS } from "../domain/workflow";
import type { DeliveryFilters } from "../domain/repo-config";

/**
 * The one module with SQL over `repo_registry`, the row per onboarded repository that every mesh-six service
 * reads. Its writer is the repo stack's RepoRegistration dynamic resource, which loads this module at run time
 * in Pulumi's provider process (with a `pg` Client of its own), so nothing here may depend on the server.
 */

/** A pool, a pool's client inside a transaction, or a plain `pg` Client (the dynamic provider's). */
export type Queryable = Pick<Pool | PoolClient, "query">;

/**
 * Reads of the repos the server knows: those in repo_registry (written by their stacks) and those with an
 * onboard, update or destroy run, registered yet or not, or no longer (an offboarded repo's history stays readable).
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
    SELECT stack_name, owner, repo, 1, seq FROM runs WHERE kind IN ('onboard', 'update', 'destroy')
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

/** What the repo stack registers: its repository, board, webhook, environment and the rules for its work. */
export interface Registration {
  owner: string;
  repo: string;
  stackName: string;
  displayName: string;
  defaultBranch: string;
  projectId: string;
  projectNumber: number;
  statusFieldId: string;
  statusOptions: Record<string, string>;
  priorityFieldId: string;
  priorityOptions: Record<string, string>;
  /** Board text-field name (TEXT_FIELDS) -> field id. */
  textFieldIds: Record<string, string>;
  webhookSecretPath: string;
  webhookId: number;
  /** Empty: none. */
  authProjectId: string;
  envStatefulSet: string;
  envNamespace: string;
  labels: readonly string[];
  allowedAuthors: readonly string[];
  /** What keeps matching deliveries from becoming work (deliveryFiltersSchema's output). */
  filters: DeliveryFilters;
  /** The keys the repo set in its auth project's agent settings ({} without any). */
  agentSettings: Record<string, unknown>;
}

/** The registry key of a repository, as GitHub spells it. */
export function registryId(ref: { owner: string; repo: string }): string {
  return `${ref.owner}/${ref.repo}`;
}

export async function upsertRegistration(db: Queryable, r: Registration): Promise<void> {
  await db.query(
    `INSERT INTO repo_registry (full_name, owner, repo, stack_name, display_name, default_branch, project_id,
       project_number, status_field_id, status_options, session_field_id, pod_name_field_id, workflow_field_id,
       priority_field_id, priority_options, webhook_secret_path, webhook_id, auth_project_id, env_statefulset,
       env_namespace, labels, allowed_authors, filters, agent_settings)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)
     ON CONFLICT (full_name) DO UPDATE SET owner = EXCLUDED.owner, repo = EXCLUDED.repo,
       stack_name = EXCLUDED.stack_name, display_name = EXCLUDED.display_name,
       default_branch = EXCLUDED.default_branch, project_id = EXCLUDED.project_id,
       project_number = EXCLUDED.project_number, status_field_id = EXCLUDED.status_field_id,
       status_options = EXCLUDED.status_options, session_field_id = EXCLUDED.session_field_id,
       pod_name_field_id = EXCLUDED.pod_name_field_id, workflow_field_id = EXCLUDED.workflow_field_id,
       priority_field_id = EXCLUDED.priority_field_id, priority_options = EXCLUDED.priority_options,
       webhook_secret_path = EXCLUDED.webhook_secret_path, webhook_id = EXCLUDED.webhook_id,
       auth_project_id = EXCLUDED.auth_project_id, env_statefulset = EXCLUDED.env_statefulset,
       env_namespace = EXCLUDED.env_namespace, labels = EXCLUDED.labels,
       allowed_authors = EXCLUDED.allowed_authors, filters = EXCLUDED.filters,
       agent_settings = EXCLUDED.agent_settings, updated_at = now()`,
    [
      registryId(r),
      r.owner,
      r.repo,
      r.stackName,
      r.displayName,
      r.defaultBranch,
      r.projectId,
      r.projectNumber,
      r.statusFieldId,
      JSON.stringify(r.statusOptions),
      r.textFieldIds[TEXT_FIELDS.sessionId] ?? null,
      r.textFieldIds[TEXT_FIELDS.podName] ?? null,
      r.textFieldIds[TEXT_FIELDS.workflowId] ?? null,
      r.priorityFieldId,
      JSON.stringify(r.priorityOptions),
      r.webhookSecretPath,
      r.webhookId,
      r.authProjectId || null,
      r.envStatefulSet,
      r.envNamespace,
      JSON.stringify(r.labels),
      JSON.stringify(r.allowedAuthors),
      // A state written before these inputs existed has neither: the column defaults apply.
      JSON.stringify(r.filters ?? {}),
      JSON.stringify(r.agentSettings ?? {}),
    ],
  );
}

export async function registrationExists(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query("SELECT 1 FROM repo_registry WHERE full_name = $1", [id]);
  return Boolean(rowCount);
}

export async function deleteRegistration(db: Queryable, id: string): Promise<void> {
  await db.query("DELETE FROM repo_registry WHERE full_name = $1", [id]);
}

/** Whether the stack has registered its repository (a stack brought up from the CLI has no run here). */
export async function isRegistered(db: Queryable, stackName: string): Promise<boolean> {
  const { rowCount } = await db.query("SELECT 1 FROM repo_registry WHERE stack_name = $1", [stackName]);
  return Boolean(rowCount);
}

/** The webhook receiver's view of a registered repo: whose and which work it takes, and where its secret is. */
export interface RegisteredRules {
  owner: string;
  repo: string;
  /** Issue labels that turn into work; none configured: no issue does. */
  labels: string[];
  /** Logins whose issues and comments turn into work; empty: anyone's. */
  allowedAuthors: string[];
  /**
   * The filters column as written (deliveryFiltersSchema's output; '{}' on a row from before migration 016). Read
   * with its defaults by the webhook receiver: this module is loaded in the registration's provider process too,
   * which need not load a schema library to write a row.
   */
  filters: unknown;
  /** Vault KV v2 path of the repo's webhook secret. */
  webhookSecretPath: string;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** The registry row of `owner/repo`, compared as GitHub does: without regard to case. */
export async function findRepoRules(db: Queryable, owner: string, repo: string): Promise<RegisteredRules | undefined> {
  const { rows } = await db.query<{
    owner: string;
    repo: string;
    labels: unknown;
    allowed_authors: unknown;
    filters: unknown;
    webhook_secret_path: string;
  }>(
    "SELECT owner, repo, labels, allowed_authors, filters, webhook_secret_path FROM repo_registry WHERE lower(owner) = lower($1) AND lower(repo) = lower($2)",
    [owner, repo],
  );
  const row = rows[0];
  return row
    ? {
        owner: row.owner,
        repo: row.repo,
        labels: strings(row.labels),
        allowedAuthors: strings(row.allowed_authors),
        filters: row.filters,
        webhookSecretPath: row.webhook_secret_path,
      }
    : undefined;
}

export interface RepoBoard {
  owner: string;
  repo: string;
  statusFieldId: string | null;
  /** Column name -> single-select option id. */
  statusOptions: Record<string, string>;
}

/** Every registered repo whose board is the project `projectNodeId`. */
export async function findBoards(db: Queryable, projectNodeId: string): Promise<RepoBoard[]> {
  const { rows } = await db.query<{
    owner: string;
    repo: string;
    status_field_id: string | null;
    status_options: Record<string, unknown> | null;
  }>("SELECT owner, repo, status_field_id, status_options FROM repo_registry WHERE project_id = $1 ORDER BY full_name", [projectNodeId]);
  return rows.map((r) => ({
    owner: r.owner,
    repo: r.repo,
    statusFieldId: r.status_field_id,
    statusOptions: Object.fromEntries(
      Object.entries(r.status_options ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"),
    ),
  }));
}

/**
 * A hash of the repo's registry row as its stack wrote it (drift verdicts and timestamps left out), or undefined
 * without a row: an update is up to date only while the row is what the last one left (runs/up-to-date.ts).
 */
export async function registrationDigest(db: Queryable, stackName: string): Promise<string | undefined> {
  const { rows } = await db.query<{ digest: string }>(
    `SELECT md5((to_jsonb(r) - 'drift_status' - 'drift_checked_at' - 'created_at' - 'updated_at')::text) AS digest
     FROM repo_registry r WHERE stack_name = $1`,
    [stackName],
  );
  return rows[0]?.digest;
}

/**
 * A drift check's verdict, kept on the registry row because other services read it there. Answers the verdict it
 * replaced (null: none yet; undefined: no such row), read under the row's lock so two checks cannot both see
 * the old one.
 */
export async function recordDriftStatus(
  db: Queryable,
  stackName: string,
  status: string,
  checkedAt: Date,
): Promise<string | null | undefined> {
  const { rows } = await db.query<{ before: string | null }>(
    `UPDATE repo_registry r SET drift_status = $2, drift_checked_at = $3
     FROM (SELECT stack_name, drift_status FROM repo_registry WHERE stack_name = $1 FOR UPDATE) old
     WHERE r.stack_name = old.stack_name RETURNING old.drift_status AS before`,
    [stackName, status, checkedAt],
  );
  return rows[0] ? rows[0].before : undefined;
}

/** The stacks whose last drift verdict is a verdict ("drifted" or "in-sync"; unchecked ones are left out). */
export async function driftVerdicts(db: Queryable): Promise<{ stackName: string; driftStatus: string }[]> {
  const { rows } = await db.query<{ stack_name: string; drift_status: string }>(
    "SELECT stack_name, drift_status FROM repo_registry WHERE drift_status IN ('drifted', 'in-sync')",
  );
  return rows.map((r) => ({ stackName: r.stack_name, driftStatus: r.drift_status }));
}

/** Registered repos not checked for drift since `checkedBefore` and with no run queued or under way. */
export async function reposDueForDriftCheck(
  db: Queryable,
  checkedBefore: number,
): Promise<{ stackName: string; owner: string; repo: string }[]> {
  const { rows } = await db.query<{ stack_name: string; owner: string; repo: string }>(
    `SELECT r.stack_name, r.owner, r.repo FROM repo_registry r
     WHERE (r.drift_checked_at IS NULL OR r.drift_checked_at < to_timestamp($1 / 1000.0))
       AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.stack_name = r.stack_name AND x.status IN ('queued', 'running', 'waiting-for-auth'))`,
    [checkedBefore],
  );
  return rows.map((r) => ({ stackName: r.stack_name, owner: r.owner, repo: r.repo }));
}
