import { randomUUID } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { recordNotification } from "../db/notification-outbox";
import { Conditions, type Page, type PageRequest, readPage } from "../db/page";
import { prepared } from "../db/prepared";
import { withTransaction } from "../db/transaction";
import type { WorkflowState } from "../domain/workflow";
import { isUuid } from "../lib/uuid";

/** The database side of agents and tasks: registration, task rows, attempts, and the delivery lease. */

export const DELIVERY_STATUSES = ["pending", "delivering", "delivered", "succeeded", "failed", "exhausted"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const ATTEMPT_OUTCOMES = ["delivered", "succeeded", "failed", "http_error", "timeout", "interrupted"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export interface AgentRecord {
  id: string;
  name: string;
  endpoint: string;
  capabilities: Record<string, number>;
  /** The GitHub login the agent acts as; null when it did not say. */
  githubLogin: string | null;
  lastHeartbeatAt: Date;
  registeredAt: Date;
}

export interface TaskRecord {
  id: string;
  capability: string;
  owner: string;
  repo: string;
  payload: unknown;
  /** The payload's JSON text as it was given: what is delivered (see raw-json.ts). */
  payloadJson: string;
  priority: number;
  timeoutMs: number;
  state: WorkflowState;
  deliveryStatus: DeliveryStatus;
  /** Every attempt the task ever had. */
  attempts: number;
  /** The retry budget: attempts allowed since `budgetStart`. */
  maxAttempts: number;
  /** Attempts made before the current budget began (a FAILED task moved back to INTAKE starts a new one). */
  budgetStart: number;
  nextAttemptAt: Date;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  result: unknown;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  attempt: number;
  agentId: string | null;
  agentName: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: AttemptOutcome | null;
  error: string | null;
}

// The rows as the tables hold them (db/migrations/005_tasks.sql, 009, 012), each mapped to its record in one place.

interface AgentRow {
  id: string;
  name: string;
  endpoint: string;
  capabilities: Record<string, number>;
  github_login: string | null;
  last_heartbeat_at: Date;
  registered_at: Date;
}

interface TaskRow {
  id: string;
  capability: string;
  owner: string;
  repo: string;
  /** The client's JSON text (a text column since 012, so that it is delivered as given). */
  payload: string;
  priority: number;
  timeout_ms: number;
  state: WorkflowState;
  delivery_status: DeliveryStatus;
  attempts: number;
  max_attempts: number;
  budget_start: number;
  next_attempt_at: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  result: unknown;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A tasks row's columns, named for statements that must not return `*` (db/prepared.ts). */
const TASK_COLUMNS = [
  "id",
  "capability",
  "owner",
  "repo",
  "payload",
  "priority",
  "timeout_ms",
  "state",
  "delivery_status",
  "attempts",
  "max_attempts",
  "budget_start",
  "next_attempt_at",
  "lease_owner",
  "lease_expires_at",
  "result",
  "error",
  "created_at",
  "updated_at",
] as const satisfies readonly (keyof TaskRow)[];
// Every field of TaskRow is among them: a field added to TaskRow and not here fails to compile.
const taskColumnsComplete: Exclude<keyof TaskRow, (typeof TASK_COLUMNS)[number]> extends never ? true : never = true;
void taskColumnsComplete;

/** A task_attempts row with its agent's name (the agent may be gone: then both are null). */
interface AttemptRow {
  attempt: number;
  agent_id: string | null;
  agent_name: string | null;
  started_at: Date;
  finished_at: Date | null;
  outcome: AttemptOutcome | null;
  error: string | null;
}

function toAgent(r: AgentRow): AgentRecord {
  return {
    id: r.id,
    name: r.name,
    endpoint: r.endpoint,
    capabilities: r.capabilities,
    githubLogin: r.github_login,
    lastHeartbeatAt: r.last_heartbeat_at,
    registeredAt: r.registered_at,
  };
}

/** What a task's record and its summary share. */
function taskFields(r: Omit<TaskRow, "payload" | "result" | "lease_owner" | "lease_expires_at">) {
  return {
    id: r.id,
    capability: r.capability,
    owner: r.owner,
    repo: r.repo,
    priority: r.priority,
    timeoutMs: r.timeout_ms,
    state: r.state,
    deliveryStatus: r.delivery_status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    budgetStart: r.budget_start,
    nextAttemptAt: r.next_attempt_at,
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toTask(r: TaskRow): TaskRecord {
  return {
    ...taskFields(r),
    payload: JSON.parse(r.payload),
    payloadJson: r.payload,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    result: r.result ?? null,
  };
}

function toAttempt(r: AttemptRow): AttemptRecord {
  return {
    attempt: r.attempt,
    agentId: r.agent_id,
    agentName: r.agent_name,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    error: r.error,
  };
}

export async function registerAgent(
  pool: Pool,
  agent: { name: string; endpoint: string; capabilities: Record<string, number>; githubLogin?: string },
): Promise<AgentRecord> {
  const { rows } = await pool.query<AgentRow>(
    "INSERT INTO agents (name, endpoint, capabilities, github_login) VALUES ($1, $2, $3, $4) RETURNING *",
    [agent.name, agent.endpoint, JSON.stringify(agent.capabilities), agent.githubLogin ?? null],
  );
  return toAgent(rows[0]);
}

/**
 * Every GitHub login an agent registered with, stale agents' too: a comment an agent posted just before its
 * heartbeat lapsed is still its own.
 */
export async function agentGithubLogins(db: Pool | PoolClient): Promise<string[]> {
  const { rows } = await db.query<{ login: string }>(
    "SELECT DISTINCT lower(github_login) AS login FROM agents WHERE github_login IS NOT NULL ORDER BY 1",
  );
  return rows.map((r) => r.login);
}

export async function heartbeatAgent(pool: Pool, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const { rowCount } = await pool.query("UPDATE agents SET last_heartbeat_at = now() WHERE id = $1", [id]);
  return rowCount === 1;
}

export async function listAgents(pool: Pool): Promise<AgentRecord[]> {
  const { rows } = await pool.query<AgentRow>("SELECT * FROM agents ORDER BY registered_at, id");
  return rows.map(toAgent);
}

/** Defaults of a task's timeout and retry budget, for tasks from the API and from webhooks alike. */
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
export const DEFAULT_TASK_MAX_ATTEMPTS = 4;

/** `payloadJson`, when given, is stored instead of a serialisation of `payload` (the client's own text). */
export type NewTask = Pick<TaskRecord, "capability" | "owner" | "repo" | "payload" | "priority" | "timeoutMs" | "maxAttempts"> & {
  payloadJson?: string;
  /** The issue's node id when the task is an issue's: inserting it queues the card's first write (migration 015). */
  boardContentId?: string | null;
};

const INSERT_TASK = "INSERT INTO tasks (capability, owner, repo, payload, priority, timeout_ms, max_attempts, board_content_id)";

function taskValues(task: NewTask): unknown[] {
  return [
    task.capability,
    task.owner,
    task.repo,
    task.payloadJson ?? JSON.stringify(task.payload),
    task.priority,
    task.timeoutMs,
    task.maxAttempts,
    task.boardContentId ?? null,
  ];
}

/** The one insert of a task: from a webhook inside the transaction that records its work item. */
export async function createTask(db: Pool | PoolClient, task: NewTask): Promise<TaskRecord> {
  const { rows } = await db.query<TaskRow>(`${INSERT_TASK} VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`, taskValues(task));
  return toTask(rows[0]);
}

const INSERT_TASKS_OF_REGISTERED_REPOS = prepared(
  "tasks-insert-registered",
  `INSERT INTO tasks (id, capability, owner, repo, payload, priority, timeout_ms, max_attempts, board_content_id)
     SELECT v.* FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[])
       AS v(id, capability, owner, repo, payload, priority, timeout_ms, max_attempts, board_content_id)
     WHERE EXISTS (SELECT 1 FROM repo_registry r WHERE r.owner = v.owner AND r.repo = v.repo) RETURNING id`,
);

/**
 * The API's insert, for a batch of tasks in one statement (server/routes/tasks.ts groups the requests that arrive
 * together): each task's id, or undefined for one whose repo is not registered (UNIQUE (owner, repo) makes the check
 * exact). The ids are chosen here, so that each row stored is matched to its task; only they come back.
 */
export async function createTasksForRegisteredRepos(db: Pool, tasks: readonly NewTask[]): Promise<(string | undefined)[]> {
  const ids = tasks.map(() => randomUUID());
  const values = tasks.map(taskValues);
  const column = (i: number) => values.map((v) => v[i]);
  const { rows } = await db.query<{ id: string }>(
    INSERT_TASKS_OF_REGISTERED_REPOS([ids, ...Array.from({ length: 8 }, (_, i) => column(i))]),
  );
  const stored = new Set(rows.map((r) => r.id));
  return ids.map((id) => (stored.has(id) ? id : undefined));
}

export async function getTask(db: Pool | PoolClient, id: string): Promise<TaskRecord | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = await db.query<TaskRow>("SELECT * FROM tasks WHERE id = $1", [id]);
  return rows[0] ? toTask(rows[0]) : undefined;
}

/** The agent the task's latest attempt went to: the one that may report on it and move it (undefined: none yet). */
export async function deliveredTo(pool: Pool, taskId: string): Promise<string | undefined> {
  if (!isUuid(taskId)) return undefined;
  const { rows } = await pool.query<{ agent_id: string | null }>(
    "SELECT agent_id FROM task_attempts WHERE task_id = $1 ORDER BY attempt DESC LIMIT 1",
    [taskId],
  );
  return rows[0]?.agent_id ?? undefined;
}

export async function listAttempts(pool: Pool, taskId: string): Promise<AttemptRecord[]> {
  const { rows } = await pool.query<AttemptRow>(
    `SELECT a.*, g.name AS agent_name FROM task_attempts a LEFT JOIN agents g ON g.id = a.agent_id WHERE a.task_id = $1 ORDER BY a.attempt`,
    [taskId],
  );
  return rows.map(toAttempt);
}

/**
 * Moves the task from `from` to `to` if it is still in `from` (the caller checked canTransition); undefined when it
 * is not. A FAILED task sent back to INTAKE is to be worked on again: if its delivery had ended, it is delivered
 * again, as stored, with a fresh retry budget.
 */
export async function setTaskState(
  pool: Pool | PoolClient,
  id: string,
  from: WorkflowState,
  to: WorkflowState,
): Promise<TaskRecord | undefined> {
  if (from === "FAILED" && to === "INTAKE") {
    const { rows } = await pool.query<TaskRow>(
      `UPDATE tasks SET state = $3, updated_at = now(), delivery_status = 'pending', budget_start = attempts, next_attempt_at = now(), result = NULL, error = NULL
       WHERE id = $1 AND state = $2 AND delivery_status IN ('succeeded', 'failed', 'exhausted') RETURNING *`,
      [id, from, to],
    );
    if (rows[0]) return toTask(rows[0]);
    // Its delivery is still under way (or it left FAILED meanwhile): only the state moves.
  }
  const { rows } = await pool.query<TaskRow>("UPDATE tasks SET state = $3, updated_at = now() WHERE id = $1 AND state = $2 RETURNING *", [
    id,
    from,
    to,
  ]);
  return rows[0] ? toTask(rows[0]) : undefined;
}

/**
 * An agent's report. Taken only while the task is in flight (delivering or delivered); closes the open
 * attempt. Success keeps the workflow state; a failure reported by the agent fails the task.
 */
export async function recordResult(
  pool: Pool,
  id: string,
  report: { outcome: "succeeded" | "failed"; result: unknown; error?: string },
): Promise<TaskRecord | undefined> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET delivery_status = $2, result = $3, error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
         state = CASE WHEN $2 = 'failed' THEN 'FAILED' ELSE state END
       WHERE id = $1 AND delivery_status IN ('delivering', 'delivered') RETURNING *`,
      [
        id,
        report.outcome,
        JSON.stringify(report.result ?? null),
        report.outcome === "failed" ? (report.error ?? "the agent reported a failure") : null,
      ],
    );
    if (rows[0]) {
      await client.query(
        `UPDATE task_attempts SET outcome = $2, error = $3, finished_at = now() WHERE task_id = $1 AND finished_at IS NULL`,
        [id, report.outcome, report.outcome === "failed" ? (report.error ?? null) : null],
      );
    }
    return rows[0] ? toTask(rows[0]) : undefined;
  });
}

/** A claimed task, what it was before the claim, its repo's auth project and the agents it may go to, as now. */
export interface ClaimedTask {
  task: TaskRecord;
  previous: DeliveryStatus;
  /** The repo's authProjectId (null: none set); undefined when the repo is no longer registered. */
  authProjectId: string | null | undefined;
  /** Healthy agents offering the task's capability (their load counts no other task of the same claim). */
  candidates: Candidate[];
}

interface CandidateJson extends Omit<AgentRow, "last_heartbeat_at" | "registered_at"> {
  last_heartbeat_at: string;
  registered_at: string;
  weight: number;
  load: number;
  successes: number;
  failures: number;
  tried: boolean;
}

const CLAIM_TASKS = prepared(
  "dispatch-claim-tasks",
  `WITH ${markDeliveredCtes("$1", "$5", "$6")},
     -- The due and the lapsed are looked for apart, each in its own partial index (migration 005): one query with
     -- both conditions ORed sorted every pending task at every claim (1.6 ms with 3000 queued, 17 ms with 30000).
     due AS (
       SELECT id, delivery_status AS previous, priority, created_at FROM tasks
       WHERE delivery_status = 'pending' AND next_attempt_at <= now() AND id <> ALL($5::uuid[])
       ORDER BY priority DESC, created_at LIMIT $3 FOR UPDATE SKIP LOCKED),
     lapsed AS (
       SELECT id, delivery_status AS previous, priority, created_at FROM tasks
       WHERE delivery_status IN ('delivering', 'delivered') AND lease_expires_at < now() AND id <> ALL($5::uuid[])
       ORDER BY priority DESC, created_at LIMIT $3 FOR UPDATE SKIP LOCKED),
     claimed AS (
       UPDATE tasks t SET delivery_status = 'delivering', lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond', updated_at = now()
       FROM (SELECT id, previous FROM (SELECT * FROM due UNION ALL SELECT * FROM lapsed) u ORDER BY priority DESC, created_at LIMIT $3) c
       WHERE t.id = c.id RETURNING ${TASK_COLUMNS.map((c) => `t.${c}`).join(", ")}, c.previous),
     -- Each healthy agent's load (its open attempts) and its last 50 finished attempts: read once for the claim, not
     -- once per task claimed, and only when a task was (a CTE is read on demand); migration 022's indexes make each
     -- read its own rows, not the agent's whole history.
     agent_stats AS MATERIALIZED (
       SELECT g.*, (SELECT count(*) FROM task_attempts a WHERE a.agent_id = g.id AND a.finished_at IS NULL) AS load,
         recent.successes, recent.failures
       FROM agents g CROSS JOIN LATERAL (
         SELECT count(*) FILTER (WHERE x.outcome = 'succeeded') AS successes,
           count(*) FILTER (WHERE x.outcome IN ('failed', 'http_error', 'timeout')) AS failures
         FROM (SELECT outcome FROM task_attempts a WHERE a.agent_id = g.id AND a.finished_at IS NOT NULL
           ORDER BY a.started_at DESC LIMIT 50) x) recent
       WHERE g.last_heartbeat_at > now() - $4 * interval '1 millisecond')
     SELECT claimed.*, r.auth_project_id, r.full_name IS NOT NULL AS registered,
       (SELECT coalesce(json_agg(to_jsonb(s) || jsonb_build_object(
          'weight', (s.capabilities ->> claimed.capability)::float8,
          'tried', EXISTS (SELECT 1 FROM task_attempts a WHERE a.agent_id = s.id AND a.task_id = claimed.id))), '[]')
        FROM agent_stats s
        WHERE s.capabilities ? claimed.capability AND jsonb_typeof(s.capabilities -> claimed.capability) = 'number'
          AND (s.capabilities ->> claimed.capability)::float8 > 0) AS candidates
     FROM claimed LEFT JOIN repo_registry r ON r.owner = claimed.owner AND r.repo = claimed.repo
     ORDER BY claimed.priority DESC, claimed.created_at`,
);

/**
 * Claims up to `limit` tasks to deliver under our lease: pending ones that are due, or ones whose delivery lease
 * lapsed (its dispatcher died) or whose result is overdue, the most urgent first. Each comes with what it was
 * before the claim, its repo's registry row and its candidate agents, read in the same statement: one round
 * trip for every free delivery slot, where a claim per slot, then a registry look-up and a candidates query per
 * task, made the claims the dispatcher's bottleneck. `delivered`: tasks the agents took since the last claim, marked
 * delivered (markDelivered) by the same statement rather than by one of their own; none of them is claimed.
 */
export async function claimTasks(
  pool: Pool,
  owner: string,
  leaseMs: number,
  limit: number,
  staleMs: number,
  delivered: readonly DeliveredMark[] = [],
): Promise<ClaimedTask[]> {
  const { rows } = await pool.query<
    TaskRow & { previous: DeliveryStatus; auth_project_id: string | null; registered: boolean; candidates: CandidateJson[] }
  >(CLAIM_TASKS([owner, leaseMs, limit, staleMs, delivered.map((m) => m.taskId), delivered.map((m) => m.attempt)]));
  return rows.map((row) => ({
    task: toTask(row),
    previous: row.previous,
    authProjectId: row.registered ? row.auth_project_id : undefined,
    candidates: row.candidates.map((c) => ({
      agent: toAgent({ ...c, last_heartbeat_at: new Date(c.last_heartbeat_at), registered_at: new Date(c.registered_at) }),
      weight: Number(c.weight),
      successes: Number(c.successes),
      failures: Number(c.failures),
      load: Number(c.load),
      tried: c.tried,
    })),
  }));
}

const RENEW_TASK_LEASE = prepared(
  "dispatch-renew-lease",
  `UPDATE tasks SET lease_expires_at = now() + $3 * interval '1 millisecond' WHERE id = $1 AND lease_owner = $2 AND delivery_status = 'delivering'`,
);

export async function renewTaskLease(pool: Pool, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await pool.query(RENEW_TASK_LEASE([id, owner, leaseMs]));
  return rowCount === 1;
}

/** Closes an attempt left open by a dispatcher that stopped, or by an agent that never reported. */
export async function closeOpenAttempt(pool: Pool, taskId: string, outcome: AttemptOutcome, error: string): Promise<void> {
  await pool.query(`UPDATE task_attempts SET outcome = $2, error = $3, finished_at = now() WHERE task_id = $1 AND finished_at IS NULL`, [
    taskId,
    outcome,
    error,
  ]);
}

/** A healthy agent offering a task's capability, with its weight, recent success rate and current load. */
export interface Candidate {
  agent: AgentRecord;
  weight: number;
  successes: number;
  failures: number;
  load: number;
  /** Whether the task already had an attempt at this agent. */
  tried: boolean;
}

/** Records a new attempt at `agentId` for a task we hold; undefined when the lease is no longer ours. */
export async function startAttempt(pool: Pool, taskId: string, owner: string, agentId: string): Promise<number | undefined> {
  // One statement, so atomic without a transaction (BEGIN, UPDATE, INSERT, COMMIT were four round trips): no row
  // updated (the lease is gone) inserts no attempt.
  const { rows } = await pool.query<{ attempt: number }>(
    `WITH t AS (
       UPDATE tasks SET attempts = attempts + 1, updated_at = now() WHERE id = $1 AND lease_owner = $2 AND delivery_status = 'delivering'
       RETURNING id, attempts)
     INSERT INTO task_attempts (task_id, attempt, agent_id) SELECT id, attempts, $3 FROM t RETURNING attempt`,
    [taskId, owner, agentId],
  );
  return rows[0]?.attempt;
}

const START_ATTEMPTS = prepared(
  "dispatch-start-attempts",
  `WITH p AS (SELECT * FROM unnest($2::uuid[], $3::uuid[]) AS p(task_id, agent_id)),
     t AS (
       UPDATE tasks SET attempts = attempts + 1, updated_at = now() FROM p
       WHERE tasks.id = p.task_id AND tasks.lease_owner = $1 AND tasks.delivery_status = 'delivering'
       RETURNING tasks.id, tasks.attempts, p.agent_id)
     INSERT INTO task_attempts (task_id, attempt, agent_id) SELECT id, attempts, agent_id FROM t RETURNING task_id, attempt`,
);

/**
 * startAttempt for a batch of tasks we hold, in one statement (one round trip per claim instead of one per task):
 * the attempt number of each task whose lease is still ours; a task missing from the map had its lease taken.
 */
export async function startAttempts(
  pool: Pool,
  owner: string,
  starts: readonly { taskId: string; agentId: string }[],
): Promise<Map<string, number>> {
  if (starts.length === 0) return new Map();
  const { rows } = await pool.query<{ task_id: string; attempt: number }>(
    START_ATTEMPTS([owner, starts.map((s) => s.taskId), starts.map((s) => s.agentId)]),
  );
  return new Map(rows.map((r) => [r.task_id, r.attempt]));
}

/** A task an agent took, at its attempt: it waits for its result until its timeout. */
export interface DeliveredMark {
  taskId: string;
  attempt: number;
}

/**
 * The statement's start that marks the tasks of `ids` at the `attempts` delivered, each only while its lease is
 * `owner`'s (the three are placeholders): markDelivered's, and the start of a claim's (claimTasks), which takes the
 * marks of the deliveries answered since the previous claim.
 */
function markDeliveredCtes(owner: string, ids: string, attempts: string): string {
  return `marks AS (SELECT * FROM unnest(${ids}::uuid[], ${attempts}::int[]) AS m(task_id, attempt)),
     marked AS (
       UPDATE tasks SET delivery_status = 'delivered', lease_owner = NULL, lease_expires_at = now() + timeout_ms * interval '1 millisecond', updated_at = now()
       FROM marks WHERE tasks.id = marks.task_id AND tasks.lease_owner = ${owner} AND tasks.delivery_status = 'delivering'
       RETURNING tasks.id, marks.attempt),
     marked_attempts AS (
       UPDATE task_attempts a SET outcome = 'delivered' FROM marked WHERE a.task_id = marked.id AND a.attempt = marked.attempt AND a.finished_at IS NULL)`;
}

const MARK_DELIVERED = prepared(
  "dispatch-mark-delivered",
  `WITH ${markDeliveredCtes("$1", "$2", "$3")} SELECT count(*) AS marked FROM marked`,
);

/** The agents took these tasks: one statement for them all (a claim does this too, for the marks it is given). */
export async function markDelivered(pool: Pool, owner: string, marks: readonly DeliveredMark[]): Promise<void> {
  await pool.query(MARK_DELIVERED([owner, marks.map((m) => m.taskId), marks.map((m) => m.attempt)]));
}

export interface FailedAttempt {
  taskId: string;
  /** The lease owner: a dispatcher that lost the task changes nothing. */
  owner: string;
  attempt: number;
  outcome: AttemptOutcome;
  error: string;
  /** When the next attempt is due, from now. */
  retryInMs: number;
}

/** The attempt failed; the task waits for its next attempt at `nextAttemptAt`. */
export async function failAttempt(pool: Pool, { taskId, owner, attempt, outcome, error, retryInMs }: FailedAttempt): Promise<void> {
  await pool.query(
    `WITH a AS (
       UPDATE task_attempts SET outcome = $4, error = $5, finished_at = now() WHERE task_id = $1 AND attempt = $3 AND finished_at IS NULL RETURNING task_id)
     UPDATE tasks SET delivery_status = 'pending', lease_owner = NULL, lease_expires_at = NULL, error = $5,
       next_attempt_at = now() + $6 * interval '1 millisecond', updated_at = now()
     WHERE id = $1 AND lease_owner = $2 AND delivery_status = 'delivering'`,
    [taskId, owner, attempt, outcome, error, retryInMs],
  );
}

/** No agent is left or the budget is spent: the task ends visibly, FAILED with the reason. */
export async function exhaustTask(pool: Pool, taskId: string, owner: string, reason: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET delivery_status = 'exhausted', state = 'FAILED', error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE id = $1 AND lease_owner = $2 AND delivery_status = 'delivering' RETURNING *`,
      [taskId, owner, reason],
    );
    const task = rows[0] ? toTask(rows[0]) : undefined;
    if (!task) return;
    // Reported with the change: a task nobody will deliver again needs a person.
    await recordNotification(client, {
      kind: "task.exhausted",
      owner: task.owner,
      repo: task.repo,
      path: `/v1/tasks/${task.id}`,
      title: `a ${task.capability} task of ${task.owner}/${task.repo} ran out of attempts`,
      data: { taskId: task.id, capability: task.capability, attempts: task.attempts, reason },
    });
  });
}

/** Gives a held task back (shutdown): it is due again at once for another dispatcher. */
export async function releaseTask(pool: Pool, taskId: string, owner: string): Promise<void> {
  await pool.query(
    `UPDATE tasks SET delivery_status = 'pending', lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = now(), updated_at = now()
     WHERE id = $1 AND lease_owner = $2 AND delivery_status = 'delivering'`,
    [taskId, owner],
  );
}

/** A task as its list shows it: without its payload and result (GET /v1/tasks/:id has them). */
export type TaskSummary = Omit<TaskRecord, "payload" | "payloadJson" | "result" | "leaseOwner" | "leaseExpiresAt"> & {
  lastAttempt: AttemptRecord | null;
};

export interface TaskFilter {
  /** The repo, compared as GitHub does: without regard to case. */
  repo?: { owner: string; repo: string };
  state?: WorkflowState;
  deliveryStatus?: DeliveryStatus;
  capability?: string;
  /** Tasks with an attempt delivered to this agent. */
  agentId?: string;
}

type SummaryRow = Omit<TaskRow, "payload" | "result" | "lease_owner" | "lease_expires_at"> & { last_attempt: AttemptRow | null };

/** A page of tasks, newest first, each with its latest attempt. */
export async function listTasks(db: Pool, filter: TaskFilter, page: PageRequest): Promise<Page<TaskSummary>> {
  const c = new Conditions();
  if (filter.repo) c.add(`lower(t.owner) = lower(${c.arg(filter.repo.owner)}) AND lower(t.repo) = lower(${c.arg(filter.repo.repo)})`);
  if (filter.state !== undefined) c.add(`t.state = ${c.arg(filter.state)}`);
  if (filter.deliveryStatus !== undefined) c.add(`t.delivery_status = ${c.arg(filter.deliveryStatus)}`);
  if (filter.capability !== undefined) c.add(`t.capability = ${c.arg(filter.capability)}`);
  if (filter.agentId !== undefined)
    c.add(`EXISTS (SELECT 1 FROM task_attempts x WHERE x.task_id = t.id AND x.agent_id = ${c.arg(filter.agentId)})`);
  const found = await readPage<SummaryRow>(
    db,
    {
      select: `t.id, t.capability, t.owner, t.repo, t.priority, t.timeout_ms, t.state, t.delivery_status, t.attempts, t.max_attempts,
        t.budget_start, t.next_attempt_at, t.error, t.created_at, t.updated_at, to_jsonb(la) AS last_attempt`,
      from: `tasks t LEFT JOIN LATERAL (
          SELECT a.attempt, a.agent_id, g.name AS agent_name, a.started_at, a.finished_at, a.outcome, a.error
          FROM task_attempts a LEFT JOIN agents g ON g.id = a.agent_id WHERE a.task_id = t.id ORDER BY a.attempt DESC LIMIT 1
        ) la ON true`,
      time: "t.created_at",
      id: "t.id",
      idType: "uuid",
    },
    c,
    page,
  );
  return {
    next: found.next,
    rows: found.rows.map((r) => ({
      ...taskFields(r),
      // to_jsonb writes times as text.
      lastAttempt: r.last_attempt
        ? toAttempt({
            ...r.last_attempt,
            started_at: new Date(r.last_attempt.started_at),
            finished_at: r.last_attempt.finished_at ? new Date(r.last_attempt.finished_at) : null,
          })
        : null,
    })),
  };
}
