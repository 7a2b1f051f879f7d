/**
 * The one workflow every mesh-six task and project card follows. The board's Status columns, the task state
 * machine and the transitions allowed between states are all defined here and nowhere else.
 */
export const WORKFLOW_STATES = ["INTAKE", "PLANNING", "IMPLEMENTATION", "QA", "REVIEW", "ACCEPTED", "FAILED"] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

/** Each state's column on the repo's project board (one-to-one). */
export const STATUS_COLUMN: Readonly<Record<WorkflowState, string>> = {
  INTAKE: "Todo",
  PLANNING: "Planning",
  IMPLEMENTATION: "In Progress",
  QA: "QA",
  REVIEW: "Review",
  FAILED: "Blocked",
  ACCEPTED: "Done",
};

/** Board column order, left to right. */
export const STATUS_COLUMNS: readonly string[] = ["Todo", "Planning", "In Progress", "QA", "Review", "Blocked", "Done"];

export const PRIORITIES = ["Critical", "High", "Medium", "Low"] as const;

/** The text fields agents fill in on each card. */
export const TEXT_FIELDS = { sessionId: "Session ID", podName: "Pod Name", workflowId: "Workflow ID" } as const;

export const TRANSITIONS: Readonly<Record<WorkflowState, readonly WorkflowState[]>> = {
  INTAKE: ["PLANNING", "FAILED"],
  PLANNING: ["IMPLEMENTATION", "FAILED"],
  IMPLEMENTATION: ["QA", "FAILED"],
  // QA and review can send work back to be fixed.
  QA: ["REVIEW", "IMPLEMENTATION", "FAILED"],
  REVIEW: ["ACCEPTED", "IMPLEMENTATION", "FAILED"],
  ACCEPTED: [],
  // A failed task can be picked up again from the start.
  FAILED: ["INTAKE"],
};

export function canTransition(from: WorkflowState, to: WorkflowState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isWorkflowState(value: string): value is WorkflowState {
  return (WORKFLOW_STATES as readonly string[]).includes(value);
}

/**
 * A task's integer priority (higher first, 0 by default) as the board's Priority option: 0 is Medium, each step up
 * or down one option further, clamped to the ends.
 */
export function priorityName(priority: number): (typeof PRIORITIES)[number] {
  const index = Math.min(PRIORITIES.length - 1, Math.max(0, 2 - Math.trunc(priority)));
  return PRIORITIES[index];
}
