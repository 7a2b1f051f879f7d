import type { Express, Request, RequestHandler } from "express";
import type { z } from "zod";
import type { RankedRole } from "../domain/roles";
import { type ErrorCode, UnsupportedMediaTypeError } from "./errors";

/**
 * One declaration per route: what it accepts and answers (for the OpenAPI document) next to the handler
 * that serves it, so the document cannot drift from the routes that exist.
 */
export interface RouteSpec {
  method: "get" | "post" | "delete";
  /** Express syntax (`/v1/runs/:id`); the OpenAPI document writes `{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /**
   * The least role a token needs (domain/roles.ts; each ranked role holds those below it); "public": served
   * without a bearer token (probes, metrics, webhooks, which carry their own signature).
   */
  role: RankedRole | "public";
  /** Agent tokens may call the route too, for the agent its target belongs to (and no other). */
  agent?: AgentScope;
  headers?: { name: string; description: string }[];
  query?: { name: string; description: string }[];
  body?: z.ZodType;
  /** The body may be left out altogether (a preview without changes). */
  bodyOptional?: boolean;
  /** Answers other than errors. */
  responses: Record<number, ResponseSpec>;
  /**
   * The error codes the handler itself can answer with (server/errors.ts ERROR_CODES). Those every route of
   * its kind can get (auth, body, path parameters, the database, the HTTP parser) are added by the document.
   */
  errors?: ErrorCode[];
  /** Whether the handler reads or writes the database (default: true for authenticated routes). */
  database?: boolean;
  handler: RequestHandler;
}

export interface AgentScope {
  /** Whose the target is, as the document states it ("the agent in the path"). */
  description: string;
  /** The id of the agent the request's target belongs to; undefined when it belongs to none. */
  agentOf(req: Request): Promise<string | undefined> | string | undefined;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** application/json unless given. */
  contentType?: string;
  headers?: Record<string, string>;
}

// What body-parser's hasBody tests: a body is coming when it is chunked or has a non-zero length.
function hasBody(req: Request): boolean {
  return (
    req.headers["transfer-encoding"] !== undefined || (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0")
  );
}

/**
 * express.json leaves a body of any other type unread, so without this a text/plain body would be taken as
 * no body at all: `{}` for a validation, an empty preview for an optional one.
 */
const jsonOnly: RequestHandler = (req, _res, next) => {
  next(hasBody(req) && !req.is("application/json") ? new UnsupportedMediaTypeError(req.get("content-type")) : undefined);
};

/** Mounts each route's handler, after `first` (checks every route's request must have passed). */
export function mountRoutes(app: Express, routes: readonly RouteSpec[], first: RequestHandler[] = []): void {
  for (const route of routes) {
    if (route.body) app[route.method](route.path, ...first, jsonOnly, route.handler);
    else app[route.method](route.path, ...first, route.handler);
  }
}

export function openPaths(routes: readonly RouteSpec[]): Set<string> {
  return new Set(routes.filter((r) => r.role === "public").map((r) => r.path));
}
