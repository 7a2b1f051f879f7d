import { z } from "zod";
import { RUN_KINDS, RUN_STATUSES } from "../../domain/runs";
import { WORKFLOW_STATES } from "../../domain/workflow";
import type { FieldIssue } from "../errors";
import { authPushRequest, onboardingRequest, previewRequest, taskTransitionRequest } from "../schemas";
import { type ApiCall, apiPath } from "./api-client";

/**
 * The MCP tools, each one API request. A tool's input schema is the API's own request schema (server/schemas.ts)
 * with the path's parameters beside it; it is listed to clients and never parsed here, so the API alone
 * validates (zod's parse would also fill in defaults: a preview of `{}` would become a preview of the defaults).
 */

type Args = Record<string, unknown>;

export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
}

export interface ToolSpec {
  name: string;
  title: string;
  description: string;
  input: z.ZodObject;
  /** List the schema without its defaults: an omitted field keeps its applied value, it does not take the default. */
  omitDefaults?: boolean;
  annotations: ToolAnnotations;
  /** The names the old system's MCP server gave this tool: the same tool under another name. */
  aliases?: string[];
  /** The API request the arguments make; throws ToolArgumentError when they cannot make one. */
  request(args: Args): ApiCall;
  /** One line for whoever reads the result; the API's answer follows it. */
  summary?(body: Record<string, unknown>): string;
}

/**
 * Arguments a request cannot be built from (a path parameter missing, an offboarding's confirmation that does
 * not name the repository), refused with the API's own `invalid_request` shape before anything is sent.
 */
export class ToolArgumentError extends Error {
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join("; "));
    this.name = "ToolArgumentError";
  }
}

/** The named arguments, each a non-empty string: they go into the request's path. */
function pathArgs<K extends string>(args: Args, names: readonly K[]): Record<K, string> {
  const issues = names.filter((n) => typeof args[n] !== "string" || args[n] === "").map((n) => ({ field: n, message: "required" }));
  if (issues.length > 0) throw new ToolArgumentError(issues);
  return Object.fromEntries(names.map((n) => [n, args[n]])) as Record<K, string>;
}

/** The arguments that are not path parameters: the request's body or query. */
function rest(args: Args, names: readonly string[]): Args {
  return Object.fromEntries(Object.entries(args).filter(([k]) => !names.includes(k)));
}

function queryOf(args: Args): ApiCall["query"] {
  const query: NonNullable<ApiCall["query"]> = {};
  for (const [k, v] of Object.entries(args)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") query[k] = v;
    // Anything else cannot be a query parameter; sent as its JSON text, the API says what is wrong with it.
    else if (v !== undefined) query[k] = JSON.stringify(v);
  }
  return query;
}

const REPO = ["owner", "repo"] as const;
const repoArgs = onboardingRequest.pick({ owner: true, repo: true });
const runId = z.string().describe("The run's id: `runId` of the answer that queued it");
const taskId = z.string().describe("The task's id");
const pageArgs = {
  cursor: z.string().optional().describe("`nextCursor` of the previous page"),
  limit: z.number().int().min(1).optional().describe("At most this many, newest first"),
};

const position = (p: unknown) => (typeof p === "number" ? `, ${p === 0 ? "next" : `${p} ahead of it`} in its stack's queue` : "");

function acceptedSummary(body: Record<string, unknown>): string {
  return `run ${String(body.runId)} (${String(body.kind)}) is ${String(body.status)}${position(body.position)}: follow it with get-run`;
}

/** Status, step and, while it waits for auth, where the user approves the device and the code to enter. */
export function runSummary(run: Record<string, unknown>): string {
  const lines = [`run ${String(run.id)}: ${String(run.kind)} of ${String(run.owner)}/${String(run.repo)} is ${String(run.status)}`];
  if (run.step) lines[0] += ` (step ${String(run.step)})`;
  lines[0] += position(run.position);
  const auth = run.auth as { verificationUri: string; verificationUriComplete?: string; userCode: string; expiresAt: string } | null;
  if (auth) {
    lines.push(
      `Waiting for auth: open ${auth.verificationUriComplete ?? auth.verificationUri} and enter the code ${auth.userCode} before ${auth.expiresAt}` +
        " (or hand over a token response with push-run-auth).",
    );
  }
  if (run.failedStep || run.failureReason) lines.push(`Failed at ${String(run.failedStep ?? "?")}: ${String(run.failureReason ?? "")}`);
  if (run.changeSummary) lines.push(`Changes: ${JSON.stringify(run.changeSummary)}`);
  return lines.join("\n");
}

function repoListSummary(body: Record<string, unknown>): string {
  const repos = (body.repos ?? []) as { fullName: string; lastRun: { kind: string; status: string } | null }[];
  const each = repos.map((r) => `${r.fullName}${r.lastRun ? ` (last run: ${r.lastRun.kind} ${r.lastRun.status})` : ""}`);
  return `${repos.length} repositories${each.length ? `: ${each.join(", ")}` : ""}`;
}

/** A queued run of the repo as last applied (refresh, drift check). */
function repoRun(name: string, title: string, route: string, description: string): ToolSpec {
  return {
    name,
    title,
    description,
    input: repoArgs,
    annotations: { readOnlyHint: false, destructiveHint: false },
    request: (args) => ({ method: "POST", path: apiPath(`/v1/repos/:owner/:repo/${route}`, pathArgs(args, REPO)) }),
    summary: acceptedSummary,
  };
}

export const TOOLS: readonly ToolSpec[] = [
  {
    name: "onboard-repo",
    title: "Onboard a repository",
    description:
      "Onboard a GitHub repository into mesh-six (POST /v1/onboardings; an update when it is already onboarded). " +
      "Queues a run and answers its runId; follow it with get-run. Needs the operator role.",
    input: onboardingRequest,
    annotations: { readOnlyHint: false, destructiveHint: false },
    aliases: ["onboard-project"],
    request: (args) => ({ method: "POST", path: "/v1/onboardings", body: args }),
    summary: acceptedSummary,
  },
  {
    name: "get-run",
    title: "Get a run",
    description:
      "A run's status, step, queue position, failure and outputs (GET /v1/runs/{id}); while it waits for auth, " +
      "the verification link and the code the user enters there.",
    input: z.object({ runId }),
    annotations: { readOnlyHint: true },
    aliases: ["get-onboarding-status"],
    request: (args) => ({ method: "GET", path: apiPath("/v1/runs/:runId", pathArgs(args, ["runId"])) }),
    summary: runSummary,
  },
  {
    name: "list-repos",
    title: "List repositories",
    description: "The repositories known here, each with its registry row and last run (GET /v1/repos).",
    input: z.object({}),
    annotations: { readOnlyHint: true },
    request: (args) => ({ method: "GET", path: "/v1/repos", query: queryOf(args) }),
    summary: repoListSummary,
  },
  {
    name: "list-runs",
    title: "List runs",
    description:
      "Runs, newest first, filtered by kind, status and time, a page at a time (GET /v1/runs; `nextCursor` for the next page); " +
      "one repository's with owner and repo (GET /v1/repos/{owner}/{repo}/runs).",
    input: z.object({
      owner: repoArgs.shape.owner.optional(),
      repo: repoArgs.shape.repo.optional(),
      kind: z.enum(RUN_KINDS).optional(),
      status: z.enum(RUN_STATUSES).optional(),
      since: z.iso.datetime({ offset: true }).optional().describe("Created at or after"),
      until: z.iso.datetime({ offset: true }).optional().describe("Created before"),
      ...pageArgs,
    }),
    annotations: { readOnlyHint: true },
    request(args) {
      if (args.owner === undefined && args.repo === undefined) return { method: "GET", path: "/v1/runs", query: queryOf(args) };
      return { method: "GET", path: apiPath("/v1/repos/:owner/:repo/runs", pathArgs(args, REPO)), query: queryOf(rest(args, REPO)) };
    },
  },
  {
    name: "preview-repo",
    title: "Preview a change",
    description:
      "Preview the repository's stack with these changes to its applied settings (a repository not onboarded yet: what onboarding " +
      "would do). Omitted fields keep their applied values. Queues a preview run; its result is in get-run. Needs the operator role.",
    input: repoArgs.extend(previewRequest.shape),
    omitDefaults: true,
    annotations: { readOnlyHint: false, destructiveHint: false },
    request: (args) => ({
      method: "POST",
      path: apiPath("/v1/repos/:owner/:repo/preview", pathArgs(args, REPO)),
      body: rest(args, REPO),
    }),
    summary: acceptedSummary,
  },
  repoRun(
    "refresh-repo",
    "Refresh a repository's stack",
    "refresh",
    "Refresh the repository's stack from its real resources (POST /v1/repos/{owner}/{repo}/refresh). Queues a run. Needs the operator role.",
  ),
  repoRun(
    "check-drift",
    "Check a repository for drift",
    "drift-check",
    "Check the repository's stack for drift now: a preview-only refresh whose verdict lands in the registry's driftStatus " +
      "(POST /v1/repos/{owner}/{repo}/drift-check). Queues a run. Needs the operator role.",
  ),
  {
    name: "offboard-repo",
    title: "Offboard a repository",
    description:
      "Offboard the repository: destroy its stack's resources and remove the stack (DELETE /v1/repos/{owner}/{repo}). " +
      "`confirm` must be the repository's owner/repo. Needs the admin role.",
    input: repoArgs.extend({ confirm: z.string().describe("The repository's full name, owner/repo, typed out to confirm") }),
    annotations: { readOnlyHint: false, destructiveHint: true },
    request(args) {
      const ref = pathArgs(args, REPO);
      const fullName = `${ref.owner}/${ref.repo}`;
      if (args.confirm !== fullName) {
        throw new ToolArgumentError([{ field: "confirm", message: `must be ${JSON.stringify(fullName)}, the repository to offboard` }]);
      }
      return { method: "DELETE", path: apiPath("/v1/repos/:owner/:repo", ref) };
    },
    summary: acceptedSummary,
  },
  {
    name: "cancel-run",
    title: "Cancel a run",
    description:
      "Cancel a run: a queued one at once, a running one through its abort signal (POST /v1/runs/{id}/cancel). Needs the operator role.",
    input: z.object({ runId }),
    annotations: { readOnlyHint: false, destructiveHint: false },
    request: (args) => ({ method: "POST", path: apiPath("/v1/runs/:runId/cancel", pathArgs(args, ["runId"])) }),
  },
  {
    name: "push-run-auth",
    title: "Hand over auth credentials",
    description:
      "Hand over a token response (RFC 6749 §5.1) for a run waiting for auth (POST /v1/runs/{id}/auth): it goes to the auth service, " +
      "never into a run record, and the run goes on. Needs the operator role.",
    input: z.object({ runId }).extend(authPushRequest.shape).strict(),
    annotations: { readOnlyHint: false, destructiveHint: false },
    aliases: ["submit-oauth-code"],
    request: (args) => ({
      method: "POST",
      path: apiPath("/v1/runs/:runId/auth", pathArgs(args, ["runId"])),
      body: rest(args, ["runId"]),
    }),
  },
  {
    name: "list-tasks",
    title: "List tasks",
    description: "Agents' tasks, newest first, a page at a time (GET /v1/tasks; `nextCursor` for the next page).",
    input: z.object({ state: z.enum(WORKFLOW_STATES).optional(), ...pageArgs }),
    annotations: { readOnlyHint: true },
    request: (args) => ({ method: "GET", path: "/v1/tasks", query: queryOf(args) }),
  },
  {
    name: "get-task",
    title: "Get a task",
    description: "A task: its workflow state, delivery status, every attempt and its result (GET /v1/tasks/{id}).",
    input: z.object({ taskId }),
    annotations: { readOnlyHint: true },
    request: (args) => ({ method: "GET", path: apiPath("/v1/tasks/:taskId", pathArgs(args, ["taskId"])) }),
  },
  {
    name: "transition-task",
    title: "Move a task along the workflow",
    description:
      "Move a task to another workflow state (POST /v1/tasks/{id}/transition); FAILED → INTAKE delivers it again. Needs the operator role.",
    input: z.object({ taskId }).extend(taskTransitionRequest.shape).strict(),
    annotations: { readOnlyHint: false, destructiveHint: false },
    request: (args) => ({
      method: "POST",
      path: apiPath("/v1/tasks/:taskId/transition", pathArgs(args, ["taskId"])),
      body: rest(args, ["taskId"]),
    }),
  },
];
