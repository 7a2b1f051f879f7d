import type { z } from "zod";
import type { agentView, auditEntry, repoView, runAccepted, runEventBody, runView, taskView } from "../../server/schemas";

/**
 * The API's shapes as the dashboard reads them: the server's own response schemas (server/schemas.ts), imported as
 * types only, so the bundle holds none of the server's code and a change of a schema fails the dashboard's typecheck.
 */
export type RunView = z.output<typeof runView>;
export type RunAccepted = z.output<typeof runAccepted>;
export type RunEventMessage = z.output<typeof runEventBody>;
export type TaskView = z.output<typeof taskView>;
export type AgentView = z.output<typeof agentView>;
export type AuditEntry = z.output<typeof auditEntry>;
export type AuthPrompt = NonNullable<RunView["auth"]>;
export type FieldIssue = { field: string; message: string };

/** A repo, with the lifecycle state (onboarding | onboarded | drifted | offboarding | offboarded | failed) of servers that have it. */
export type RepoView = z.output<typeof repoView> & { state?: string };

/**
 * A task as GET /v1/tasks lists it (schema TaskSummary): its latest attempt only; GET /v1/tasks/{id} has them all.
 * Written out here because the list's schema is not on this branch yet.
 */
export type TaskSummary = Pick<
  TaskView,
  "id" | "capability" | "owner" | "repo" | "state" | "deliveryStatus" | "maxAttempts" | "error" | "createdAt" | "updatedAt"
> & {
  attemptCount: number;
  lastAttempt: TaskView["attempts"][number] | null;
};
