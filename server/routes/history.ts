import type { Request, Response } from "express";
import { listRuns, queuePosition } from "../../runs/run-store";
import { type AppContext, toRunView } from "../context";
import { nextCursorOf, pageQueryDocs, pageRequestOf, UUID_ID } from "../pagination";
import { validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { runListQuery, runPage } from "../schemas";
import { mustKnow, repoRef } from "./repos";

/**
 * What happened, newest first and a page at a time: runs, over every repo or one. Each list pages by its
 * cursor (server/pagination.ts, db/page.ts).
 */
export function historyRoutes(ctx: AppContext): RouteSpec[] {
  /** The stack a repo list is limited to, once its name is valid and the repo known (404 otherwise). */
  async function stackOf(req: Request): Promise<string> {
    return (await mustKnow(ctx, repoRef(req))).stackName;
  }

  // The query is checked first, as bodies are elsewhere: what the client sent is wrong whichever repo it names.
  async function sendRuns(req: Request, res: Response, inRepo: boolean): Promise<void> {
    const q = validate(runListQuery, req.query);
    const stackName = inRepo ? await stackOf(req) : undefined;
    const page = await listRuns(ctx.pool, { stackName, kind: q.kind, status: q.status }, pageRequestOf("runs", q, UUID_ID));
    const runs = await Promise.all(page.rows.map(async (run) => toRunView(run, await queuePosition(ctx.pool, run))));
    res.json({ runs, nextCursor: nextCursorOf("runs", page.next) });
  }

  const runQuery = [
    { name: "kind", description: "Only runs of this kind" },
    { name: "status", description: "Only runs in this status" },
    ...pageQueryDocs("Runs created", 50),
  ];

  return [
    {
      method: "get",
      path: "/v1/runs",
      operationId: "listRuns",
      summary: "Runs of every repo, newest first, a page at a time",
      tag: "runs",
      role: "viewer",
      query: runQuery,
      responses: { 200: { description: "A page of runs", schema: runPage } },
      errors: ["invalid_request"],
      handler: (req, res) => sendRuns(req, res, false),
    },
    {
      method: "get",
      path: "/v1/repos/:owner/:repo/runs",
      operationId: "listRepoRuns",
      summary: "A repository's runs, newest first, a page at a time (an offboarded repo's too)",
      tag: "repos",
      role: "viewer",
      query: runQuery,
      responses: { 200: { description: "A page of the repository's runs", schema: runPage } },
      errors: ["invalid_request", "repo_not_found"],
      handler: (req, res) => sendRuns(req, res, true),
    },
  ];
}
