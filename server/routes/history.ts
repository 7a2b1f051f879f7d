import type { Request } from "express";
import type { z } from "zod";
import type { KnownRepo } from "../../db/registry";
import type { Page, PageRequest } from "../../db/page";
import { DELIVERY_STATUSES, listTasks, type TaskSummary } from "../../dispatch/task-store";
import { RUN_KINDS, RUN_STATUSES, type RunRecord } from "../../domain/runs";
import { WORKFLOW_STATES } from "../../domain/workflow";
import { listRuns, queuePosition } from "../../runs/run-store";
import { type AppContext, toRunView } from "../context";
import type { ErrorCode } from "../errors";
import { nextCursorOf, pageQueryDocs, pageRequestOf, UUID_ID } from "../pagination";
import { validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { deliveryListQuery, deliveryPage, runListQuery, runPage, taskListQuery, taskPage } from "../schemas";
import { type DeliverySummary, listDeliveries } from "../webhooks/store";
import { mustKnow, repoRef } from "./repos";
import { attemptOut } from "./tasks";
import { DELIVERY_PATTERN } from "./webhooks";

/**
 * What happened, newest first and a page at a time: runs, tasks and webhook deliveries, over every repo or one
 * (an offboarded repo's too: its history stays readable). Every list pages by its cursor (server/pagination.ts,
 * db/page.ts) and takes its query the same way.
 */

type PageQuery = { since?: string; until?: string; cursor?: string; limit: number };

interface HistoryList<Q extends PageQuery, R> {
  /** The answer's array, and the name its cursors carry. */
  key: "runs" | "tasks" | "deliveries";
  /** What the summaries call the rows (`Runs`, `Webhook deliveries`). */
  title: string;
  tag: string;
  query: z.ZodType<Q>;
  filters: { name: string; description: string }[];
  /** Which time the list is ordered by, for the documentation of since/until. */
  timeWord: string;
  idPattern: RegExp;
  schema: z.ZodType;
  read(q: Q, page: PageRequest, repo: KnownRepo | undefined): Promise<Page<R>>;
  /** A row as the answer shows it. */
  out(row: R): unknown;
}

export function historyRoutes(ctx: AppContext): RouteSpec[] {
  const runs: HistoryList<z.output<typeof runListQuery>, RunRecord> = {
    key: "runs",
    title: "Runs",
    tag: "runs",
    query: runListQuery,
    filters: [
      { name: "kind", description: `Only runs of this kind: ${RUN_KINDS.join(", ")}` },
      { name: "status", description: `Only runs in this status: ${RUN_STATUSES.join(", ")}` },
    ],
    timeWord: "created",
    idPattern: UUID_ID,
    schema: runPage,
    read: (q, page, repo) => listRuns(ctx.pool, { stackName: repo?.stackName, kind: q.kind, status: q.status }, page),
    out: async (run) => toRunView(run, await queuePosition(ctx.pool, run)),
  };

  const tasks: HistoryList<z.output<typeof taskListQuery>, TaskSummary> = {
    key: "tasks",
    title: "Tasks",
    tag: "tasks",
    query: taskListQuery,
    filters: [
      { name: "state", description: `Only tasks in this workflow state: ${WORKFLOW_STATES.join(", ")}` },
      { name: "status", description: `Only tasks with this delivery status: ${DELIVERY_STATUSES.join(", ")}` },
      { name: "capability", description: "Only tasks for this capability" },
      { name: "agent", description: "Only tasks with an attempt delivered to this agent (its id)" },
    ],
    timeWord: "created",
    idPattern: UUID_ID,
    schema: taskPage,
    read: (q, page, repo) =>
      listTasks(ctx.pool, { repo, state: q.state, deliveryStatus: q.status, capability: q.capability, agentId: q.agent }, page),
    out: taskSummaryOut,
  };

  const deliveries: HistoryList<z.output<typeof deliveryListQuery>, DeliverySummary> = {
    key: "deliveries",
    title: "Webhook deliveries",
    tag: "webhooks",
    query: deliveryListQuery,
    filters: [
      { name: "event", description: "Only deliveries of this event (X-GitHub-Event)" },
      { name: "outcome", description: "Only deliveries with this outcome: received (not processed yet), processed, ignored, failed" },
    ],
    timeWord: "received",
    idPattern: DELIVERY_PATTERN,
    schema: deliveryPage,
    read: (q, page, repo) => listDeliveries(ctx.pool, { repo, event: q.event, outcome: q.outcome }, page),
    out: deliveryOut,
  };

  function routesOf<Q extends PageQuery, R>(list: HistoryList<Q, R>): RouteSpec[] {
    const query = [...list.filters, ...pageQueryDocs(list.title, 50, list.timeWord)];
    // The query is checked first, as bodies are elsewhere: what the client sent is wrong whichever repo it names.
    const handler = (inRepo: boolean): RouteSpec["handler"] => {
      return async (req: Request, res) => {
        const q = validate(list.query, req.query);
        const page = pageRequestOf(list.key, q, list.idPattern);
        const repo = inRepo ? await mustKnow(ctx, repoRef(req)) : undefined;
        const found = await list.read(q, page, repo);
        const items = await Promise.all(found.rows.map((row) => list.out(row)));
        res.json({ [list.key]: items, nextCursor: nextCursorOf(list.key, found.next) });
      };
    };
    const capitalized = list.key[0].toUpperCase() + list.key.slice(1);
    const errors: ErrorCode[] = ["invalid_request"];
    return [
      {
        method: "get",
        path: `/v1/${list.key}`,
        operationId: `list${capitalized}`,
        summary: `${list.title} of every repo, newest first, a page at a time`,
        tag: list.tag,
        role: "viewer",
        query,
        responses: { 200: { description: `A page of ${list.key}`, schema: list.schema } },
        errors,
        handler: handler(false),
      },
      {
        method: "get",
        path: `/v1/repos/:owner/:repo/${list.key}`,
        operationId: `listRepo${capitalized}`,
        summary: `${list.title} of a repository, newest first, a page at a time (an offboarded one's too)`,
        tag: "repos",
        role: "viewer",
        query,
        responses: { 200: { description: `A page of the repository's ${list.key}`, schema: list.schema } },
        errors: [...errors, "repo_not_found"],
        handler: handler(true),
      },
    ];
  }

  return [...routesOf(runs), ...routesOf(tasks), ...routesOf(deliveries)];
}

function taskSummaryOut(t: TaskSummary) {
  return {
    id: t.id,
    capability: t.capability,
    owner: t.owner,
    repo: t.repo,
    priority: t.priority,
    timeoutMs: t.timeoutMs,
    state: t.state,
    deliveryStatus: t.deliveryStatus,
    attemptCount: t.attempts,
    maxAttempts: t.maxAttempts,
    lastAttempt: t.lastAttempt ? attemptOut(t.lastAttempt) : null,
    nextAttemptAt: t.deliveryStatus === "pending" ? t.nextAttemptAt.toISOString() : null,
    error: t.error,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

function deliveryOut(d: DeliverySummary) {
  return {
    ...d,
    receivedAt: d.receivedAt.toISOString(),
    processedAt: d.processedAt?.toISOString() ?? null,
  };
}
