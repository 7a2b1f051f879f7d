import { timingSafeEqual } from "node:crypto";
import { type Request, type RequestHandler, type Response, Router } from "express";
import type { Pool } from "pg";
import { findActiveToken, tokenDigest } from "../db/api-tokens";
import { holdsRole, type Role } from "../domain/roles";
import { ForbiddenError, UnauthenticatedError } from "./errors";
import type { RouteSpec } from "./route-table";

/** Who a request's token acts as. */
export interface Principal {
  /** The token's id, or `config:<n>` for the n-th token of MESH_SIX_API_TOKENS (1-based). */
  id: string;
  name: string;
  role: Role;
  /** The agent an agent token acts for. */
  agentId: string | null;
}

/** What the route that took the request makes of it: its pattern, and what it is about. */
export interface RouteAccess {
  route: string;
  target: string | null;
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

export function routeAccessOf(res: Response): RouteAccess | undefined {
  return res.locals.routeAccess as RouteAccess | undefined;
}

/** Paths anyone may call: probes and metrics for the cluster, webhooks (they carry their own signature). */
export function isOpenPath(path: string, openPaths: ReadonlySet<string>): boolean {
  return openPaths.has(path) || path.startsWith("/webhooks/");
}

export interface AuthenticateOptions {
  /** MESH_SIX_API_TOKENS: each acts as admin. */
  configured: readonly string[];
  pool: Pool;
  openPaths: ReadonlySet<string>;
  /** Called once the request's principal is known. */
  onAuthenticated?: (req: Request, res: Response, principal: Principal) => void;
}

/**
 * Bearer-token authentication: who the token acts as, or 401 for a token not known here (never issued,
 * revoked). Tokens are compared as SHA-256 digests, always 32 bytes, with timingSafeEqual: the configured
 * ones all of them without stopping at a match, an issued one after the indexed lookup of its digest found it
 * (how long that lookup takes can only tell a caller about the digest of what they sent, which is no help in
 * finding a token: a digest cannot be turned back into its token).
 */
export function authenticate(opts: AuthenticateOptions): RequestHandler {
  const configured = opts.configured.map(tokenDigest);
  async function principal(token: string): Promise<Principal | undefined> {
    const presented = tokenDigest(token);
    let match = -1;
    configured.forEach((digest, i) => {
      if (timingSafeEqual(presented, digest) && match < 0) match = i;
    });
    if (match >= 0) return { id: `config:${match + 1}`, name: `MESH_SIX_API_TOKENS #${match + 1}`, role: "admin", agentId: null };
    const found = await findActiveToken(opts.pool, presented);
    if (!found || !timingSafeEqual(found.digest, presented)) return undefined;
    return { id: found.record.id, name: found.record.name, role: found.record.role, agentId: found.record.agentId };
  }
  return (req, res, next) => {
    if (isOpenPath(req.path, opts.openPaths)) return next();
    const header = req.get("authorization");
    const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
    if (!match) return next(new UnauthenticatedError());
    principal(match[1]).then((p) => {
      if (!p) return next(new UnauthenticatedError());
      res.locals.principal = p;
      opts.onAuthenticated?.(req, res, p);
      next();
    }, next);
  };
}

/** What a request is about, from its path: owner/repo, an organization, or the id in the path. */
function targetOf(params: Record<string, unknown>): string | null {
  if (typeof params.owner === "string" && typeof params.repo === "string") return `${params.owner}/${params.repo}`;
  if (typeof params.org === "string") return params.org;
  if (typeof params.id === "string") return params.id;
  return null;
}

/**
 * Refuses the request unless its principal holds the route's role, or is the agent its target belongs to. Also
 * guards `/mcp`, which is no route of the table (server/mcp/http.ts).
 */
export function authorize(route: Pick<RouteSpec, "path" | "role" | "agent">): RequestHandler {
  return (req, res, next) => {
    // Express serves the first route that matches: that one's rules decide.
    if (routeAccessOf(res)) return next();
    res.locals.routeAccess = { route: route.path, target: targetOf(req.params) } satisfies RouteAccess;
    if (route.role === "public") return next();
    const principal = principalOf(res);
    // Only open paths skip authentication; a route that is not public but sits on one is refused.
    if (!principal) return next(new UnauthenticatedError());
    if (holdsRole(principal.role, route.role)) return next();
    const refused = new ForbiddenError(route.role, route.agent !== undefined);
    if (principal.role !== "agent" || !route.agent) return next(refused);
    Promise.resolve(route.agent.agentOf(req)).then((agentId) => next(agentId === principal.agentId ? undefined : refused), next);
  };
}

/** A route's first handler: a request the authorization router did not see is failed, never served. */
export const authorizedOnly: RequestHandler = (req, res, next) => {
  next(routeAccessOf(res) ? undefined : new Error(`${req.method} ${req.path} reached its route without being authorized`));
};

/**
 * Every route's authorization, matched as the app matches its routes (an Express router with the same paths
 * and the same default options), for mounting ahead of body parsing: a refused request's body is never read.
 */
export function authorizeRoutes(routes: readonly RouteSpec[]): Router {
  const router = Router();
  for (const route of routes) router[route.method](route.path, authorize(route));
  return router;
}
