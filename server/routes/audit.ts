import { listAudit } from "../../db/audit-log";
import type { AppContext } from "../context";
import { BIGINT_ID, nextCursorOf, pageQueryDocs, pageRequestOf } from "../pagination";
import { validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { auditPage, auditQuery } from "../schemas";

/** The audit trail of mutating requests (server/audit.ts records it): an admin's to read. */
export function auditRoutes(ctx: AppContext): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/v1/audit",
      operationId: "listAudit",
      summary: "Who did what and how it was answered, newest first: every mutating request of a known token",
      tag: "tokens",
      role: "admin",
      query: [
        { name: "actor", description: "A token's id (`config:<n>` for a configured one) or its name" },
        { name: "route", description: "A route pattern, as entries name it (`/v1/runs/:id/cancel`)" },
        ...pageQueryDocs("Entries", 100),
      ],
      responses: { 200: { description: "A page of entries", schema: auditPage } },
      errors: ["invalid_request"],
      async handler(req, res) {
        const q = validate(auditQuery, req.query);
        const page = await listAudit(ctx.pool, { actor: q.actor, route: q.route }, pageRequestOf("audit", q, BIGINT_ID));
        res.json({
          entries: page.rows.map((e) => ({
            id: e.id,
            at: e.at.toISOString(),
            actor: { id: e.actorId, name: e.actorName, role: e.actorRole },
            method: e.method,
            route: e.route,
            target: e.target,
            status: e.status,
          })),
          nextCursor: nextCursorOf("audit", page.next),
        });
      },
    },
  ];
}
