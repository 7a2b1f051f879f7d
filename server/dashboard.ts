import path from "node:path";
import express, { type RequestHandler, Router } from "express";
import { RouteNotFoundError } from "./errors";

/**
 * The operator dashboard (ui/): static files only, built by `npm run build:ui` into dist/ui. It reads and acts
 * through the public API with the token its user types in, so this route serves no data and needs no token.
 */
export const DASHBOARD_PATH = "/ui";
export const DASHBOARD_DIR = path.resolve(__dirname, "../dist/ui");

// Only the dashboard's own files may run or load, and nothing may frame it: a token typed into it stays with it.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  next();
};

export function dashboardRouter(dir: string = DASHBOARD_DIR): Router {
  const router = Router();
  router.use(securityHeaders);
  // Each build changes the files under the same names: the browser asks again every time (a 304 when unchanged).
  router.use(express.static(dir, { index: "index.html", redirect: true, setHeaders: (res) => res.setHeader("Cache-Control", "no-cache") }));
  // A file not there (or no build yet) is a plain 404 here, not a request for a token further on.
  router.use((req, _res, next) => next(new RouteNotFoundError(req.method, req.originalUrl)));
  return router;
}
