import type { Request, Response } from "express";
import type { Pool } from "pg";
import { type AuditEntry, recordAudits } from "../db/audit-log";
import { Batcher } from "../lib/batcher";
import { type Principal, routeAccessOf } from "./auth";
import { MCP_PATH } from "./mcp/http";
import type { Logger } from "../lib/logger";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
// A POST to /mcp is a protocol message, not a change: each tool's change is its own API request, recorded as such.
const UNRECORDED_PATHS = new Set([MCP_PATH]);

/** What a request was about when its path does not say (a run or token it created). */
export function setAuditTarget(res: Response, target: string): void {
  res.locals.auditTarget = target;
}

/**
 * Records every mutating request of an authenticated principal once it is answered (or the client went away:
 * 499): who, the method and route pattern, what it was about, the status. Never the body or the query: bodies
 * carry credentials (the auth push's OAuth tokens). Unauthenticated requests are not recorded (anyone could
 * fill the table), nor are webhooks, which carry no token: their deliveries are kept in webhook_deliveries, nor
 * /mcp's messages: the API requests its tools make are.
 */
export function auditMutations(pool: Pool, log: Logger): (req: Request, res: Response, principal: Principal) => void {
  // Entries of requests answered while others are being written go in together: one INSERT for them all.
  // One write at a time: nobody waits for an entry, so the more go together the better.
  const entries = new Batcher<AuditEntry, undefined>(
    async (batch) => {
      await recordAudits(pool, batch);
      return batch.map(() => undefined);
    },
    1,
    256,
  );
  return (req, res, principal) => {
    if (!MUTATING.has(req.method) || UNRECORDED_PATHS.has(req.path)) return;
    // Entries are written after the answer, and two of them can land in either order: the arrival orders the trail.
    const at = new Date();
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      const access = routeAccessOf(res);
      const status = res.writableFinished || res.headersSent ? res.statusCode : 499;
      const target = (res.locals.auditTarget as string | undefined) ?? access?.target ?? null;
      entries
        .submit({
          at,
          actorId: principal.id,
          actorName: principal.name,
          actorRole: principal.role,
          method: req.method,
          route: access?.route ?? null,
          target,
          status,
        })
        .catch((err: Error) =>
          log.error(`not recorded: ${req.method} ${access?.route ?? "(no route)"} by ${principal.id}: ${err.message}`),
        );
    };
    res.once("finish", record);
    res.once("close", record);
  };
}
