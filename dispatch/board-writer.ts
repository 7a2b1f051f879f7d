import type { Pool } from "pg";
import { STATUS_COLUMN, priorityName } from "../domain/workflow";
import { ShuttingDown } from "../lib/abort";
import { newWorkerId, WorkerLoop } from "../lib/worker-loop";
import { fullJitterDelay } from "./dispatcher";
import { defaultLogger, type Logger } from "../lib/logger";
import {
  type BoardWrite,
  claimBoardWrite,
  finishBoardWrite,
  forgetCard,
  knownCard,
  rememberCard,
  type RepoBoard,
  repoBoard,
  retryBoardWrite,
} from "./board-store";

/** What the writer needs of GitHub (clients/github-board.ts is the real one). */
export interface BoardApi {
  findItem(projectId: string, contentId: string): Promise<string | undefined>;
  addItem(projectId: string, contentId: string): Promise<string>;
  setFields(
    projectId: string,
    itemId: string,
    writes: { fieldId: string; value: { text: string } | { singleSelectOptionId: string } }[],
  ): Promise<void>;
}

export interface BoardWriterOptions {
  pool: Pool;
  api: BoardApi;
  /** How long a claimed write stays ours; a writer that died leaves it to another after this. */
  leaseMs?: number;
  pollMs?: number;
  /** Full-jitter backoff between attempts of one write, as the dispatcher's; writes are retried until they land. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  workerId?: string;
  log?: Logger;
  random?: () => number;
}

/**
 * Drains the board outbox: each write puts the task's card in its state's column with its fields, on the board
 * of the task's repo as the registry names it. A card is found by its issue before one is added, so a write
 * repeated after a crash or a redelivered webhook never makes a second card. A small loop of its own, in the
 * dispatcher's claim-with-lease style, so it can be folded into a shared worker loop.
 */
export class BoardWriter {
  readonly workerId: string;
  private readonly pool: Pool;
  private readonly api: BoardApi;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly loop: WorkerLoop<BoardWrite>;

  constructor(opts: BoardWriterOptions) {
    this.pool = opts.pool;
    this.api = opts.api;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.retryBaseMs = opts.retryBaseMs ?? 1_000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.random = opts.random ?? Math.random;
    this.workerId = opts.workerId ?? newWorkerId("/boards");
    this.log = opts.log ?? defaultLogger().child({ component: "boards" });
    // One write at a time: a board is a person's view, and GitHub asks integrations to serialize their mutations.
    this.loop = new WorkerLoop<BoardWrite>({
      concurrency: 1,
      pollMs: this.pollMs,
      claim: () => claimBoardWrite(this.pool, this.workerId, this.leaseMs),
      key: (write) => write.id,
      work: (write) => this.attempt(write),
      name: "board loop",
      log: this.log,
    });
  }

  start(): void {
    void this.loop.start();
  }

  kick(): void {
    this.loop.kick();
  }

  /** Lets the write under way finish (a write is one GitHub call); one still running after the lease is its lease's. */
  async stop(): Promise<void> {
    const deadline = Date.now() + this.leaseMs;
    await this.loop.stop({ deadline, abortAt: deadline, reason: new ShuttingDown("the server is stopping") });
  }

  /** Writes until none is due; what was written (tests, and a writer folded into another loop). */
  async drain(): Promise<number> {
    let written = 0;
    for (;;) {
      const write = await claimBoardWrite(this.pool, this.workerId, this.leaseMs);
      if (!write) return written;
      await this.attempt(write);
      written++;
    }
  }

  private async attempt(write: BoardWrite): Promise<void> {
    try {
      const skipped = await this.apply(write);
      await finishBoardWrite(this.pool, write.id, this.workerId, skipped);
    } catch (err) {
      const delay = fullJitterDelay(write.attempts, this.retryBaseMs, this.retryMaxMs, this.random);
      const message = (err as Error)?.message ?? String(err);
      await retryBoardWrite(this.pool, write.id, this.workerId, message, delay);
      this.log.warn(
        `board write ${write.id} (${write.owner}/${write.repo}) attempt ${write.attempts} failed (${message}); next in ${delay} ms`,
      );
      if (delay <= this.pollMs) setTimeout(() => this.kick(), delay).unref();
    }
  }

  /** undefined when written; else why nothing was to be written. */
  private async apply(write: BoardWrite): Promise<string | undefined> {
    const board = await repoBoard(this.pool, write.owner, write.repo);
    if (!board) return "the repository is no longer registered";
    if (!board.projectId) return "the repository has no board";
    const column = STATUS_COLUMN[write.state];
    const fields = fieldWrites(board, write, column);
    const cached = await knownCard(this.pool, board.projectId, write.contentNodeId);
    let itemId = cached;
    if (itemId) {
      try {
        await this.api.setFields(board.projectId, itemId, fields);
      } catch (err) {
        // The card may have been deleted by hand: look it up (or add it) again on the next attempt.
        await forgetCard(this.pool, board.projectId, write.contentNodeId);
        throw err;
      }
    } else {
      itemId =
        (await this.api.findItem(board.projectId, write.contentNodeId)) ?? (await this.api.addItem(board.projectId, write.contentNodeId));
      await rememberCard(this.pool, { projectId: board.projectId, contentNodeId: write.contentNodeId, itemNodeId: itemId, column: null });
      await this.api.setFields(board.projectId, itemId, fields);
    }
    await rememberCard(this.pool, { projectId: board.projectId, contentNodeId: write.contentNodeId, itemNodeId: itemId, column });
    return undefined;
  }
}

/** The card's Status and fields as the registry's ids spell them; fields the board lacks are left out. */
export function fieldWrites(board: RepoBoard, write: BoardWrite, column: string) {
  const out: { fieldId: string; value: { text: string } | { singleSelectOptionId: string } }[] = [];
  const status = board.statusOptions[column];
  if (board.statusFieldId && status) out.push({ fieldId: board.statusFieldId, value: { singleSelectOptionId: status } });
  const priority = board.priorityOptions[priorityName(write.priority)];
  if (board.priorityFieldId && priority) out.push({ fieldId: board.priorityFieldId, value: { singleSelectOptionId: priority } });
  const texts: [string | null, string | null][] = [
    [board.workflowFieldId, write.taskId],
    [board.podNameFieldId, write.agentName],
    [board.sessionFieldId, write.sessionId],
  ];
  for (const [fieldId, text] of texts) if (fieldId && text) out.push({ fieldId, value: { text } });
  return out;
}
