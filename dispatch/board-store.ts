import type { Pool } from "pg";
import type { WorkflowState } from "../domain/workflow";

/**
 * The board outbox (db/migrations/015_board_writes.sql): writes queued by the tasks' triggers, claimed under a
 * lease one card at a time, oldest first, and the cards found or added on each repo's board.
 */

export interface BoardWrite {
  id: string;
  owner: string;
  repo: string;
  contentNodeId: string;
  taskId: string | null;
  state: WorkflowState;
  priority: number;
  agentName: string | null;
  sessionId: string | null;
  attempts: number;
}

/** The board ids of one repo, from its registry row: never a global board. */
export interface RepoBoard {
  projectId: string | null;
  statusFieldId: string | null;
  statusOptions: Record<string, string>;
  priorityFieldId: string | null;
  priorityOptions: Record<string, string>;
  sessionFieldId: string | null;
  podNameFieldId: string | null;
  workflowFieldId: string | null;
}

type Row = Record<string, unknown>;

function toWrite(r: Row): BoardWrite {
  return {
    id: String(r.id),
    owner: r.owner as string,
    repo: r.repo as string,
    contentNodeId: r.content_node_id as string,
    taskId: r.task_id as string | null,
    state: r.state as WorkflowState,
    priority: r.priority as number,
    agentName: r.agent_name as string | null,
    sessionId: r.session_id as string | null,
    attempts: r.attempts as number,
  };
}

const options = (v: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries((v as Record<string, unknown> | null) ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"),
  );

export async function repoBoard(pool: Pool, owner: string, repo: string): Promise<RepoBoard | undefined> {
  const { rows } = await pool.query(
    `SELECT project_id, status_field_id, status_options, priority_field_id, priority_options, session_field_id, pod_name_field_id, workflow_field_id
     FROM repo_registry WHERE owner = $1 AND repo = $2`,
    [owner, repo],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    projectId: r.project_id,
    statusFieldId: r.status_field_id,
    statusOptions: options(r.status_options),
    priorityFieldId: r.priority_field_id,
    priorityOptions: options(r.priority_options),
    sessionFieldId: r.session_field_id,
    podNameFieldId: r.pod_name_field_id,
    workflowFieldId: r.workflow_field_id,
  };
}

/**
 * Claims the oldest due write of a card whose older writes are all finished, so a card's writes land in the order
 * its task changed even across retries and several writers.
 */
export async function claimBoardWrite(pool: Pool, owner: string, leaseMs: number): Promise<BoardWrite | undefined> {
  const { rows } = await pool.query(
    `UPDATE board_writes w SET lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = w.attempts + 1
     FROM (
       SELECT b.id FROM board_writes b
       WHERE b.status = 'pending' AND b.next_attempt_at <= now() AND (b.lease_expires_at IS NULL OR b.lease_expires_at < now())
         AND NOT EXISTS (SELECT 1 FROM board_writes o WHERE o.status = 'pending' AND o.owner = b.owner AND o.repo = b.repo
                           AND o.content_node_id = b.content_node_id AND o.id < b.id)
       ORDER BY b.id LIMIT 1 FOR UPDATE SKIP LOCKED
     ) c
     WHERE w.id = c.id RETURNING w.*`,
    [owner, leaseMs],
  );
  return rows[0] ? toWrite(rows[0]) : undefined;
}

/** Done (or skipped with the reason); false when the lease was no longer ours. */
export async function finishBoardWrite(pool: Pool, id: string, owner: string, skipped?: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE board_writes SET status = $3, reason = $4, done_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'`,
    [id, owner, skipped === undefined ? "done" : "skipped", skipped ?? null],
  );
  return rowCount === 1;
}

/** The write failed (GitHub away, an error answer): it is due again after `retryInMs`, still before the card's later writes. */
export async function retryBoardWrite(pool: Pool, id: string, owner: string, error: string, retryInMs: number): Promise<void> {
  await pool.query(
    `UPDATE board_writes SET lease_owner = NULL, lease_expires_at = NULL, last_error = $3, next_attempt_at = now() + $4 * interval '1 millisecond'
     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'`,
    [id, owner, error, retryInMs],
  );
}

export async function knownCard(pool: Pool, projectId: string, contentNodeId: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ item_node_id: string }>(
    "SELECT item_node_id FROM board_cards WHERE project_id = $1 AND content_node_id = $2",
    [projectId, contentNodeId],
  );
  return rows[0]?.item_node_id;
}

export async function rememberCard(
  pool: Pool,
  card: { projectId: string; contentNodeId: string; itemNodeId: string; column: string | null },
): Promise<void> {
  await pool.query(
    `INSERT INTO board_cards (project_id, content_node_id, item_node_id, written_column) VALUES ($1, $2, $3, $4)
     ON CONFLICT (project_id, content_node_id) DO UPDATE
       SET item_node_id = EXCLUDED.item_node_id, written_column = COALESCE(EXCLUDED.written_column, board_cards.written_column), updated_at = now()`,
    [card.projectId, card.contentNodeId, card.itemNodeId, card.column],
  );
}

export async function forgetCard(pool: Pool, projectId: string, contentNodeId: string): Promise<void> {
  await pool.query("DELETE FROM board_cards WHERE project_id = $1 AND content_node_id = $2", [projectId, contentNodeId]);
}
