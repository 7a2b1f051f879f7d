import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { ForbiddenError, UnauthenticatedError } from "./errors";

/** Paths anyone may call: probes and metrics for the cluster, webhooks (they carry their own signature). */
export function isOpenPath(path: string, openPaths: ReadonlySet<string>): boolean {
  return openPaths.has(path) || path.startsWith("/webhooks/");
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/**
 * Bearer-token auth. Tokens are compared as SHA-256 digests (always 32 bytes, so timingSafeEqual applies
 * whatever was sent) against every configured token without stopping at a match.
 */
export function bearerAuth(tokens: readonly string[], openPaths: ReadonlySet<string>): RequestHandler {
  const accepted = tokens.map(digest);
  return (req, _res, next) => {
    if (isOpenPath(req.path, openPaths)) return next();
    const header = req.get("authorization");
    const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
    if (!match) return next(new UnauthenticatedError());
    const presented = digest(match[1]);
    let ok = false;
    for (const token of accepted) ok = timingSafeEqual(presented, token) || ok;
    next(ok ? undefined : new ForbiddenError());
  };
}
