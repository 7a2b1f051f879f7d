import assert from "node:assert/strict";
import { test } from "node:test";
import type { BoardWrite, RepoBoard } from "../../dispatch/board-store";
import { fieldWrites } from "../../dispatch/board-writer";
import { PRIORITIES, priorityName } from "../../domain/workflow";

test("a task's priority maps onto the board's Priority options: 0 is Medium, higher is more urgent, clamped", () => {
  assert.deepEqual([-5, -1, 0, 1, 2, 9].map(priorityName), ["Low", "Low", "Medium", "High", "Critical", "Critical"]);
  for (const p of [-1, 0, 1, 2]) assert.ok(PRIORITIES.includes(priorityName(p)));
});

const board: RepoBoard = {
  projectId: "PVT_1",
  statusFieldId: "F_status",
  statusOptions: { Todo: "o-todo", Review: "o-review" },
  priorityFieldId: "F_prio",
  priorityOptions: { Medium: "o-med", High: "o-high" },
  sessionFieldId: "F_session",
  podNameFieldId: "F_pod",
  workflowFieldId: "F_wf",
};

const write: BoardWrite = {
  id: "1",
  owner: "acme",
  repo: "widgets",
  contentNodeId: "I_1",
  taskId: "t-1",
  state: "REVIEW",
  priority: 1,
  agentName: "agent-0",
  sessionId: "t-1/2",
  attempts: 1,
};

test("a write sets Status, Priority and the text fields through the repo's own field and option ids", () => {
  assert.deepEqual(fieldWrites(board, write, "Review"), [
    { fieldId: "F_status", value: { singleSelectOptionId: "o-review" } },
    { fieldId: "F_prio", value: { singleSelectOptionId: "o-high" } },
    { fieldId: "F_wf", value: { text: "t-1" } },
    { fieldId: "F_pod", value: { text: "agent-0" } },
    { fieldId: "F_session", value: { text: "t-1/2" } },
  ]);
});

test("fields the board lacks, and values not known yet (no agent), are left out rather than guessed", () => {
  const bare: RepoBoard = { ...board, priorityFieldId: null, sessionFieldId: null, podNameFieldId: null };
  assert.deepEqual(fieldWrites(bare, { ...write, agentName: null, sessionId: null }, "QA"), [{ fieldId: "F_wf", value: { text: "t-1" } }]);
});
