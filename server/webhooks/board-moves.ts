import type { Pool, PoolClient } from "pg";
import { withTransaction } from "../../db/transaction";
import { setTaskState, toTask } from "../../dispatch/task-store";
import { canTransition, isWorkflowState, type WorkflowState } from "../../domain/workflow";

/**
 * A card moved on a repo's board (a projects_v2_item edit of its Status) becomes the task's transition when the
 * workflow allows it. The server's own moves come back as webhooks too and must not loop: a move whose sender is
 * the server's GitHub login is recognised as its own and only recorded. A move to the column the task is already
 * in changes nothing either, which also covers the echo of a write whose webhook names another sender (an app
 * acting for the server). Every move is recorded in board_moves with what became of it; a refused one puts the
 * card back where the task is.
 */

export type MoveOutcome = "applied" | "refused" | "own" | "unchanged" | "unknown-card";

interface MovePayload {
  itemNodeId: string;
  contentNodeId: string | null;
  sender: string | null;
  status?: { to: { column: string | null; state: string | null; optionId: string } | null };
}

export interface MoveResult {
  outcome: MoveOutcome;
  reason?: string;
  taskId?: string;
  /** The task was sent back to INTAKE and is to be delivered again. */
  redeliver?: boolean;
}

const fold = (s: string) => s.toLowerCase();

export async function applyBoardMove(
  pool: Pool,
  deliveryId: string,
  repo: { owner: string; repo: string },
  payload: Record<string, unknown>,
  serverLogin: string | undefined,
): Promise<MoveResult | undefined> {
  const move = payload as unknown as MovePayload;
  if (!move.status) return undefined; // not a Status edit (added, archived…): nothing for a task to follow
  const to = move.status.to;
  return withTransaction(pool, async (client) => {
    const recorded = await client.query(
      `INSERT INTO board_moves (delivery_id, owner, repo, item_node_id, content_node_id, sender, to_column, to_state, outcome)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'unknown-card') ON CONFLICT (delivery_id, owner, repo) DO NOTHING RETURNING id`,
      [deliveryId, repo.owner, repo.repo, move.itemNodeId, move.contentNodeId, move.sender, to?.column ?? null, to?.state ?? null],
    );
    if (!recorded.rows[0]) return undefined; // this delivery's move was judged already
    const result = await judge(client, repo, move, serverLogin);
    await client.query(`UPDATE board_moves SET outcome = $2, reason = $3, task_id = $4, from_state = $5 WHERE id = $1`, [
      recorded.rows[0].id,
      result.outcome,
      result.reason ?? null,
      result.taskId ?? null,
      result.from ?? null,
    ]);
    return result;
  });
}

async function judge(
  client: PoolClient,
  repo: { owner: string; repo: string },
  move: MovePayload,
  serverLogin: string | undefined,
): Promise<MoveResult & { from?: WorkflowState }> {
  if (move.sender && serverLogin && fold(move.sender) === fold(serverLogin)) {
    return { outcome: "own", reason: "the server's own move" };
  }
  const content =
    move.contentNodeId ??
    (await client.query<{ content_node_id: string }>("SELECT content_node_id FROM board_cards WHERE item_node_id = $1", [move.itemNodeId]))
      .rows[0]?.content_node_id;
  const { rows } = content
    ? await client.query(
        `SELECT * FROM tasks WHERE owner = $1 AND repo = $2 AND board_content_id = $3 ORDER BY created_at DESC, id LIMIT 1 FOR UPDATE`,
        [repo.owner, repo.repo, content],
      )
    : { rows: [] };
  if (!rows[0]) return { outcome: "unknown-card", reason: "no task has this card" };
  const task = toTask(rows[0]);
  const base = { taskId: task.id, from: task.state };
  const putBack = () => client.query("SELECT queue_board_write_for(t) FROM tasks t WHERE t.id = $1", [task.id]);
  const target = to(move);
  if (!target || !isWorkflowState(target)) {
    await putBack();
    return { ...base, outcome: "refused", reason: `column ${move.status?.to?.column ?? "(none)"} is no workflow state` };
  }
  if (target === task.state) return { ...base, outcome: "unchanged", reason: `the task is already ${task.state}` };
  if (!canTransition(task.state, target)) {
    await putBack();
    return { ...base, outcome: "refused", reason: `a task cannot go from ${task.state} to ${target}` };
  }
  const moved = await setTaskState(client, task.id, task.state, target);
  if (!moved) throw new Error(`task ${task.id} changed while its card was being moved`);
  return { ...base, outcome: "applied", redeliver: moved.deliveryStatus === "pending" && task.state === "FAILED" };
}

function to(move: MovePayload): string | null {
  return move.status?.to?.state ?? null;
}
