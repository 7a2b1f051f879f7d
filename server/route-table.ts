import type { Express, RequestHandler } from "express";
import type { z } from "zod";

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
  /** false: served without a bearer token (probes, metrics). */
  auth: boolean;
  headers?: { name: string; description: string }[];
  body?: z.ZodType;
  /** The body may be left out altogether (a preview without changes). */
  bodyOptional?: boolean;
  responses: Record<number, ResponseSpec>;
  handler: RequestHandler;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** application/json unless given. */
  contentType?: string;
  headers?: Record<string, string>;
}

export function mountRoutes(app: Express, routes: readonly RouteSpec[]): void {
  for (const route of routes) app[route.method](route.path, route.handler);
}

export function openPaths(routes: readonly RouteSpec[]): Set<string> {
  return new Set(routes.filter((r) => !r.auth).map((r) => r.path));
}
