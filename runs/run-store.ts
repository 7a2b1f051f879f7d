import type { Pool } from "pg";
import { isRegistered, type Queryable } from "../db/registry";
import { recordNotification } from "../db/notification-outbox";
import { Conditions, type Page, type PageRequest, readPage } from "../db/page";
import { withTransaction } from "../db/transaction";
import { runNotification } from "../domain/notifications";
import { isUuid } from "../lib/uuid";
import { LIFECYCLE_KINDS, type LifecycleKind, type RepoFacts } from "../domain/repo-state";
import type { FingerprintRecord } from "../domain/fingerprint";
import type { AuthPrompt, RunEvent, RunKind, RunOptions, RunPolicy, RunRecord, RunRequest, RunStatus } from "../domain/runs";

/**
 * The runs and run_events tables (db/migrations/002_runs.sql). Every status change is one statement
 * that also appends its `status` event, so the event log can never disagree with the run row. Times come
 * from the database's clock, so leases mean the same thing to every worker.
 */

// Claims are serialized across workers by this transaction-level lock, so the concurrency cap and the
// "one active run per stack" check read a state no other claim is changing. Any constant works.
export const CLAIM_LOCK_KEY = 0x72756e73;

// A run holding its stack: no other run of that stack may start (runs_one_active_per_stack enforces it).
const ACTIVE = `('running', 'waiting-for-auth', 'interrupted')`;
// The runs that change what a repo has on the platform, spelled as the partial index runs_lifecycle (migration 017) is.
const LIFECYCLE = `(${LIFECYCLE_KINDS.map((k) => `'${k}'`).join(", ")})`;

export class IdempotencyKeyReusedError extends Error {
  constructor(readonly key: string) {
    super("the Idempotency-Key was already used for a different request");
    this.name = "IdempotencyKeyReusedError";
  }
}

export interface NewRun {
  kind: RunKind;
  owner: string;
  repo: string;
  stackName: string;
  request: RunRequest;
  options?: RunOptions;
  idempotency?: { key: string; hash: string };
}

interface RunRow {
  id: string;
  seq: string;
  kind: RunKind;
  owner: string;
  repo: string;
  stack_name: string;
  status: RunStatus;
  step: string | null;
  request: RunRequest;
  options: RunOptions;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  cancel_requested_at: Date | null;
  interruptions: number;
  started_at: Date | null;
  finished_at: Date | null;
  failed_step: string | null;
  failure_reason: string | null;
  change_summary: Record<string, number> | null;
  outputs: Record<string, unknown> | null;
  policy: RunPolicy | null;
  auth: AuthPrompt | null;
  auth_received_at: Date | null;
  fingerprint: FingerprintRecord | null;
  up_to_date_with: string | null;
  created_at: Date;
  updated_at: Date;
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    kind: row.kind,
    owner: row.owner,
    repo: row.repo,
    stackName: row.stack_name,
    status: row.status,
    step: row.step,
    request: row.request,
    options: row.options,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequestedAt: row.cancel_requested_at,
    interruptions: row.interruptions,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    failedStep: row.failed_step,
    failureReason: row.failure_reason,
    changeSummary: row.change_summary,
    outputs: row.outputs,
    policy: row.policy,
    auth: row.auth,
    authReceivedAt: row.auth_received_at,
    fingerprint: row.fingerprint,
    upToDateWith: row.up_to_date_with,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Updates one or more runs and appends a `status` event for each, in one statement. `set` and `where` are
 * SQL over the row aliased `u`; their parameters start at $1; the event's extra fields come last.
 */
async function transition(
  db: Queryable,
  set: string,
  where: string,
  params: unknown[],
  extra: Record<string, unknown> = {},
): Promise<RunRecord[]> {
  const sql = `
    WITH r AS (
      UPDATE runs u SET ${set}, event_seq = u.event_seq + 1, updated_at = now() WHERE ${where} RETURNING u.*
    ), e AS (
      INSERT INTO run_events (run_id, seq, type, data)
      SELECT id, event_seq, 'status', jsonb_strip_nulls(jsonb_build_object('status', status, 'step', step)) || $${params.length + 1}::jsonb
      FROM r
    )
    SELECT * FROM r ORDER BY seq`;
  const { rows } = await db.query<RunRow>(sql, [...params, JSON.stringify(extra)]);
  return rows.map(toRun);
}

/**
 * A transition people may hear of: the notification of each run that reached a reported status (succeeded,
 * failed, waiting for auth) is written in the same transaction, so no such change goes unreported and none is
 * reported that did not happen.
 */
async function reportedTransition(
  pool: Pool,
  ...change: Parameters<typeof transition> extends [Queryable, ...infer C] ? C : never
): Promise<RunRecord[]> {
  return withTransaction(pool, async (client) => {
    const runs = await transition(client, ...change);
    for (const run of runs) {
      const event = runNotification(run);
      if (event) await recordNotification(client, event);
    }
    return runs;
  });
}

/** Stores a new queued run; with an idempotency key already used for the same request, returns that run. */
export async function createRun(pool: Pool, run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<RunRow>(
      `INSERT INTO runs (kind, owner, repo, stack_name, request, options, idempotency_key, request_hash, event_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING *`,
      [
        run.kind,
        run.owner,
        run.repo,
        run.stackName,
        JSON.stringify(run.request),
        JSON.stringify(run.options ?? {}),
        run.idempotency?.key ?? null,
        run.idempotency?.hash ?? null,
      ],
    );
    if (rows[0]) {
      await client.query("INSERT INTO run_events (run_id, seq, type, data) VALUES ($1, 1, 'status', $2)", [
        rows[0].id,
        JSON.stringify({ status: "queued", kind: run.kind }),
      ]);
      return { run: toRun(rows[0]), created: true };
    }
    const existing = await client.query<RunRow & { request_hash: string }>("SELECT * FROM runs WHERE idempotency_key = $1", [
      run.idempotency?.key,
    ]);
    const row = existing.rows[0];
    if (!row || row.request_hash !== run.idempotency?.hash) throw new IdempotencyKeyReusedError(run.idempotency?.key ?? "");
    return { run: toRun(row), created: false };
  });
}

export async function getRun(db: Queryable, id: string): Promise<RunRecord | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = await db.query<RunRow>("SELECT * FROM runs WHERE id = $1", [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** Runs of the same stack that must finish before this queued run can start (0: it starts next). */
export async function queuePosition(db: Queryable, run: RunRecord): Promise<number | null> {
  if (run.status !== "queued") return null;
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM runs WHERE stack_name = $1 AND (status IN ${ACTIVE} OR (status = 'queued' AND seq < $2))`,
    [run.stackName, run.seq],
  );
  return rows[0].n;
}

/**
 * Whether the stack's last successful run left the repo onboarded. A repo onboarded and later destroyed is
 * not; the registry row written by the stack itself counts too (a stack brought up from the CLI).
 */
export async function isOnboarded(db: Queryable, stackName: string): Promise<boolean> {
  if (await isRegistered(db, stackName)) return true;
  const { rows } = await db.query<{ kind: string }>(
    `SELECT kind FROM runs WHERE stack_name = $1 AND status = 'succeeded' AND kind IN ${LIFECYCLE}
     ORDER BY seq DESC LIMIT 1`,
    [stackName],
  );
  return rows[0] ? rows[0].kind !== "destroy" : false;
}

/** The stack input of the last successful onboard or update, the base a preview's changes apply to. */
export async function lastAppliedRequest(db: Queryable, stackName: string): Promise<RunRequest | undefined> {
  const { rows } = await db.query<{ request: RunRequest }>(
    `SELECT request FROM runs WHERE stack_name = $1 AND status = 'succeeded' AND kind IN ('onboard', 'update')
     ORDER BY seq DESC LIMIT 1`,
    [stackName],
  );
  return rows[0]?.request;
}

/**
 * The stack's last onboard or update that ran Pulumi and succeeded, by when it ended (runs sent at the same moment may
 * take their queue positions out of order): what an update is compared with.
 */
export async function lastAppliedUpdate(db: Queryable, stackName: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM runs WHERE stack_name = $1 AND status = 'succeeded' AND kind IN ('onboard', 'update') AND up_to_date_with IS NULL
     ORDER BY finished_at DESC LIMIT 1`,
    [stackName],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/**
 * The stack's runs that started and ended after `after` ended, in the order they ended. One run holds a stack at a
 * time, so these are all that ran since; a run cancelled before it started did nothing and is left out.
 */
export async function runsEndedSince(db: Queryable, stackName: string, after: Date): Promise<RunRecord[]> {
  const { rows } = await db.query<RunRow>(
    "SELECT * FROM runs WHERE stack_name = $1 AND finished_at > $2 AND started_at IS NOT NULL ORDER BY finished_at",
    [stackName, after],
  );
  return rows.map(toRun);
}

/** Keeps a claimed onboard's or update's fingerprint and verdict on its row, while `leaseOwner` holds it. */
export async function recordFingerprint(db: Queryable, runId: string, leaseOwner: string, record: FingerprintRecord): Promise<void> {
  await db.query(`UPDATE runs SET fingerprint = $3::jsonb, updated_at = now() WHERE id = $1 AND lease_owner = $2 AND status IN ${ACTIVE}`, [
    runId,
    leaseOwner,
    JSON.stringify(record),
  ]);
}

export interface StoredEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

export async function listEvents(db: Queryable, runId: string, afterSeq: number, limit = 500): Promise<StoredEvent[]> {
  const { rows } = await db.query<{ seq: number; type: string; data: Record<string, unknown>; created_at: Date }>(
    "SELECT seq, type, data, created_at FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    [runId, afterSeq, limit],
  );
  return rows.map((r) => ({ seq: r.seq, type: r.type, data: r.data, createdAt: r.created_at }));
}

/**
 * Records a runner's event while `leaseOwner` still holds the run; a worker that lost its lease is ignored.
 * A step event also moves the run's `step`.
 */
export async function appendRunEvent(db: Queryable, runId: string, leaseOwner: string, event: RunEvent): Promise<boolean> {
  const { type, ...data } = event;
  const { rowCount } = await db.query(
    `WITH r AS (
       UPDATE runs SET event_seq = event_seq + 1, step = CASE WHEN $3::text = 'step' THEN $4::jsonb->>'step' ELSE step END
       WHERE id = $1 AND lease_owner = $2 AND status IN ${ACTIVE} RETURNING event_seq
     )
     INSERT INTO run_events (run_id, seq, type, data) SELECT $1, event_seq, $3::text, $4::jsonb FROM r`,
    [runId, leaseOwner, type, JSON.stringify(data)],
  );
  return rowCount === 1;
}

export interface ClaimOptions {
  leaseOwner: string;
  leaseMs: number;
  /** Most runs in `running` at once, over every worker on this database. */
  concurrency: number;
}

/**
 * Claims the oldest queued run whose stack has no active run and no older queued run (FIFO per stack),
 * if fewer than `concurrency` runs are running. The claimed run is `running` under a lease.
 */
export async function claimNextRun(pool: Pool, opts: ClaimOptions): Promise<RunRecord | undefined> {
  return withTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [CLAIM_LOCK_KEY]);
    const running = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE status = 'running'");
    if (running.rows[0].n >= opts.concurrency) return undefined;
    const next = await client.query<{ id: string }>(
      `SELECT r.id FROM runs r
       WHERE r.status = 'queued'
         AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.stack_name = r.stack_name
                         AND (b.status IN ${ACTIVE} OR (b.status = 'queued' AND b.seq < r.seq)))
       ORDER BY r.seq LIMIT 1
       FOR UPDATE OF r SKIP LOCKED`,
    );
    if (!next.rows[0]) return undefined;
    const [run] = await transition(
      client,
      `status = 'running', lease_owner = $2, lease_expires_at = now() + $3::int * interval '1 millisecond',
       started_at = COALESCE(u.started_at, statement_timestamp())`,
      "u.id = $1 AND u.status = 'queued'",
      [next.rows[0].id, opts.leaseOwner, opts.leaseMs],
      // Which replica ran what stays in the run's history (the lease owner is cleared when it ends).
      { worker: opts.leaseOwner },
    );
    return run;
  });
}

/** Extends the lease; `held: false` means another worker took the run over (it was presumed dead). */
export async function renewLease(
  db: Queryable,
  runId: string,
  leaseOwner: string,
  leaseMs: number,
): Promise<{ held: boolean; cancelRequested: boolean; authReceived: boolean }> {
  const { rows } = await db.query<{ cancel_requested_at: Date | null; auth_received_at: Date | null }>(
    `UPDATE runs SET lease_expires_at = now() + $3::int * interval '1 millisecond'
     WHERE id = $1 AND lease_owner = $2 AND status IN ${ACTIVE} RETURNING cancel_requested_at, auth_received_at`,
    [runId, leaseOwner, leaseMs],
  );
  return {
    held: rows.length === 1,
    cancelRequested: rows[0]?.cancel_requested_at != null,
    authReceived: rows[0]?.auth_received_at != null,
  };
}

/**
 * A running run held by `leaseOwner` starts waiting for the user to approve the device: its status says
 * so and its row keeps the prompt (what GET /v1/runs/:id shows), which the status event repeats.
 */
export async function startWaitingForAuth(
  pool: Pool,
  runId: string,
  leaseOwner: string,
  prompt: AuthPrompt,
): Promise<RunRecord | undefined> {
  const [run] = await reportedTransition(
    pool,
    "status = 'waiting-for-auth', auth = $3::jsonb, auth_received_at = NULL",
    "u.id = $1 AND u.lease_owner = $2 AND u.status = 'running'",
    [runId, leaseOwner, JSON.stringify(prompt)],
    { auth: prompt },
  );
  return run;
}

/** The wait is over (a token, or credentials pushed): the run is `running` again for its last steps. */
export async function stopWaitingForAuth(db: Queryable, runId: string, leaseOwner: string): Promise<RunRecord | undefined> {
  const [run] = await transition(db, "status = 'running'", "u.id = $1 AND u.lease_owner = $2 AND u.status = 'waiting-for-auth'", [
    runId,
    leaseOwner,
  ]);
  return run;
}

/**
 * Marks that credentials for a waiting run arrived through the API (they went to the auth service; only
 * the fact is stored). Undefined when the run is not waiting for auth.
 */
export async function markAuthReceived(db: Queryable, runId: string): Promise<RunRecord | undefined> {
  if (!isUuid(runId)) return undefined;
  const { rows } = await db.query<RunRow>(
    `WITH r AS (
       UPDATE runs SET auth_received_at = COALESCE(auth_received_at, now()), event_seq = event_seq + 1, updated_at = now()
       WHERE id = $1 AND status = 'waiting-for-auth' RETURNING *
     ), e AS (
       INSERT INTO run_events (run_id, seq, type, data) SELECT id, event_seq, 'auth-received', '{"via":"api"}' FROM r
     )
     SELECT * FROM r`,
    [runId],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** Lets the lease lapse now, so the next recovery pass (in any worker) takes the run over at once. */
export async function releaseLease(db: Queryable, runId: string, leaseOwner: string): Promise<void> {
  await db.query("UPDATE runs SET lease_expires_at = now() - interval '1 millisecond' WHERE id = $1 AND lease_owner = $2", [
    runId,
    leaseOwner,
  ]);
}

export type RunOutcome =
  | {
      status: "succeeded";
      changeSummary: Record<string, number>;
      outputs: Record<string, unknown>;
      /** An update answered up-to-date: the earlier run whose result it repeats. */
      upToDateWith?: string;
      /** What an applied onboard or update left (merged into its fingerprint as `after`). */
      fingerprintAfter?: FingerprintRecord["after"];
    }
  | { status: "failed" | "cancelled"; failedStep: string | null; failureReason: string };

/** Records the end of a run still held under `leaseOwner`; undefined when the lease was lost meanwhile. */
export async function finishRun(pool: Pool, runId: string, leaseOwner: string, outcome: RunOutcome): Promise<RunRecord | undefined> {
  const ok = outcome.status === "succeeded";
  const [run] = await reportedTransition(
    pool,
    `status = $3, finished_at = statement_timestamp(), lease_owner = NULL, lease_expires_at = NULL, failed_step = $4,
     failure_reason = $5, change_summary = $6::jsonb, outputs = $7::jsonb, up_to_date_with = $8::uuid,
     fingerprint = CASE WHEN $9::jsonb IS NULL THEN u.fingerprint ELSE u.fingerprint || jsonb_build_object('after', $9::jsonb) END,
     policy = jsonb_build_object(
       'packs', coalesce((SELECT e.data->'policyPacks' FROM run_events e WHERE e.run_id = $1 AND e.type = 'summary' ORDER BY e.seq DESC LIMIT 1), '{}'::jsonb),
       'violations', (SELECT coalesce(jsonb_agg(e.data - 'type' ORDER BY e.seq), '[]'::jsonb) FROM run_events e WHERE e.run_id = $1 AND e.type = 'policy'))`,
    `u.id = $1 AND u.lease_owner = $2 AND u.status IN ${ACTIVE}`,
    [
      runId,
      leaseOwner,
      outcome.status,
      ok ? null : outcome.failedStep,
      ok ? null : outcome.failureReason,
      ok ? JSON.stringify(outcome.changeSummary) : null,
      ok ? JSON.stringify(outcome.outputs) : null,
      ok ? (outcome.upToDateWith ?? null) : null,
      ok && outcome.fingerprintAfter ? JSON.stringify(outcome.fingerprintAfter) : null,
    ],
    ok ? {} : { failedStep: outcome.failedStep, reason: outcome.failureReason },
  );
  return run;
}

export type CancelResult =
  | { outcome: "not_found" }
  | { outcome: "finished"; run: RunRecord }
  | { outcome: "cancelled"; run: RunRecord }
  | { outcome: "requested"; run: RunRecord };

/** A queued run is cancelled at once; an active one is marked, and its worker aborts it. */
export async function requestCancel(db: Queryable, runId: string): Promise<CancelResult> {
  if (!isUuid(runId)) return { outcome: "not_found" };
  const [cancelled] = await transition(
    db,
    "status = 'cancelled', finished_at = statement_timestamp(), cancel_requested_at = now(), failure_reason = 'cancelled before it started'",
    "u.id = $1 AND u.status = 'queued'",
    [runId],
    { reason: "cancelled before it started" },
  );
  if (cancelled) return { outcome: "cancelled", run: cancelled };
  const { rows } = await db.query<RunRow>(
    `WITH r AS (
       UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, now()), event_seq = event_seq + 1, updated_at = now()
       WHERE id = $1 AND status IN ${ACTIVE} RETURNING *
     ), e AS (
       INSERT INTO run_events (run_id, seq, type, data) SELECT id, event_seq, 'cancel-requested', '{}' FROM r
     )
     SELECT * FROM r`,
    [runId],
  );
  if (rows[0]) return { outcome: "requested", run: toRun(rows[0]) };
  const run = await getRun(db, runId);
  return run ? { outcome: "finished", run } : { outcome: "not_found" };
}

/**
 * Takes over every run whose lease lapsed (its worker died or stopped): marks it `interrupted` under a new
 * lease held by `leaseOwner`, counting the interruption unless it was already being recovered.
 */
export async function takeOverLapsedRuns(
  pool: Pool,
  leaseOwner: string,
  leaseMs: number,
  ownLiveRunIds: string[] = [],
): Promise<RunRecord[]> {
  // A worker's own runs lapse too when the database was out longer than a lease (heartbeats failed), yet
  // they are alive and still executing: taking them over would recover a stack in the middle of its update.
  const { rows } = await pool.query<{ id: string; lease_owner: string | null }>(
    `SELECT id, lease_owner FROM runs WHERE status IN ${ACTIVE} AND lease_expires_at < now() AND NOT (id = ANY($1::uuid[])) ORDER BY seq`,
    [ownLiveRunIds],
  );
  const taken: RunRecord[] = [];
  for (const lapsed of rows) {
    const [run] = await transition(
      pool,
      `status = 'interrupted', lease_owner = $2, lease_expires_at = now() + $3::int * interval '1 millisecond',
       interruptions = u.interruptions + CASE WHEN u.status = 'interrupted' THEN 0 ELSE 1 END`,
      // Re-checked here: another worker may have taken it over (or its owner renewed) since the SELECT.
      `u.id = $1 AND u.status IN ${ACTIVE} AND u.lease_expires_at < now()`,
      [lapsed.id, leaseOwner, leaseMs],
      { reason: `the lease of worker ${lapsed.lease_owner ?? "?"} lapsed`, worker: leaseOwner },
    );
    if (run) taken.push(run);
  }
  return taken;
}

export type RecoveryOutcome =
  { status: "queued"; reason: string } | { status: "failed" | "cancelled"; failedStep: string | null; reason: string };

/** Ends the recovery of an interrupted run: back in the queue (keeping its place) or finished. */
export async function settleRecovery(
  pool: Pool,
  runId: string,
  leaseOwner: string,
  outcome: RecoveryOutcome,
): Promise<RunRecord | undefined> {
  const where = "u.id = $1 AND u.lease_owner = $2 AND u.status = 'interrupted'";
  if (outcome.status === "queued") {
    // A cancel that arrived during the recovery wins over the retry.
    const [run] = await transition(
      pool,
      "status = 'queued', step = NULL, lease_owner = NULL, lease_expires_at = NULL",
      `${where} AND u.cancel_requested_at IS NULL`,
      [runId, leaseOwner],
      { reason: outcome.reason },
    );
    if (run) return run;
    const step = (await getRun(pool, runId))?.step ?? null;
    return settleRecovery(pool, runId, leaseOwner, {
      status: "cancelled",
      failedStep: step,
      reason: "cancelled while recovering from an interruption",
    });
  }
  const [run] = await reportedTransition(
    pool,
    "status = $3, finished_at = statement_timestamp(), lease_owner = NULL, lease_expires_at = NULL, failed_step = $4, failure_reason = $5",
    where,
    [runId, leaseOwner, outcome.status, outcome.failedStep, outcome.reason],
    { failedStep: outcome.failedStep, reason: outcome.reason },
  );
  return run;
}

export async function countRunsByStatus(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM runs GROUP BY status");
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** The newest run of each of these stacks. */
export async function latestRunsByStack(db: Queryable, stackNames: string[]): Promise<Map<string, RunRecord>> {
  const { rows } = await db.query<RunRow>(
    "SELECT DISTINCT ON (stack_name) * FROM runs WHERE stack_name = ANY($1::text[]) ORDER BY stack_name, seq DESC",
    [stackNames],
  );
  return new Map(rows.map((r) => [r.stack_name, toRun(r)]));
}

export interface RunFilter {
  stackName?: string;
  kind?: RunKind;
  status?: RunStatus;
}

/** A page of runs, newest first (GET /v1/runs and a repo's runs). */
export async function listRuns(db: Queryable, filter: RunFilter, page: PageRequest): Promise<Page<RunRecord>> {
  const c = new Conditions();
  if (filter.stackName !== undefined) c.add(`stack_name = ${c.arg(filter.stackName)}`);
  if (filter.kind !== undefined) c.add(`kind = ${c.arg(filter.kind)}`);
  if (filter.status !== undefined) c.add(`status = ${c.arg(filter.status)}`);
  const found = await readPage<RunRow>(db, { select: "*", from: "runs", time: "created_at", id: "id", idType: "uuid" }, c, page);
  return { rows: found.rows.map(toRun), next: found.next };
}

type Finished = NonNullable<RepoFacts["last"]>;

/** What the runs say of each stack's lifecycle state (domain/repo-state.ts): two index lookups per stack. */
export async function lifecycleRuns(db: Queryable, stackNames: string[]): Promise<Map<string, Pick<RepoFacts, "pending" | "last">>> {
  const { rows } = await db.query<{
    stack_name: string;
    pending_kind: LifecycleKind | null;
    last_kind: LifecycleKind | null;
    last_status: Finished["status"] | null;
    last_finished_at: Date | null;
  }>(
    `SELECT s.stack_name, p.kind AS pending_kind, l.kind AS last_kind, l.status AS last_status, l.finished_at AS last_finished_at
     FROM unnest($1::text[]) AS s (stack_name)
     LEFT JOIN LATERAL (
       SELECT kind FROM runs WHERE stack_name = s.stack_name AND kind IN ${LIFECYCLE} AND status IN ('queued', 'running', 'waiting-for-auth', 'interrupted')
       ORDER BY seq DESC LIMIT 1) p ON true
     LEFT JOIN LATERAL (
       SELECT kind, status, finished_at FROM runs WHERE stack_name = s.stack_name AND kind IN ${LIFECYCLE}
         AND status IN ('succeeded', 'failed', 'cancelled') AND started_at IS NOT NULL
       ORDER BY seq DESC LIMIT 1) l ON true`,
    [stackNames],
  );
  return new Map(
    rows.map((r) => [
      r.stack_name,
      {
        pending: r.pending_kind ? { kind: r.pending_kind } : undefined,
        last:
          r.last_kind && r.last_status && r.last_finished_at
            ? { kind: r.last_kind, status: r.last_status, finishedAt: r.last_finished_at }
            : undefined,
      },
    ]),
  );
}
