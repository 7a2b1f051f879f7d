// The emulator accepts exactly one token, in either of the two header forms GitHub accepts.
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { restErrorBody } from "./errors";

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function requireToken(token: string) {
  if (!token) throw new Error("the GitHub emulator needs a non-empty token");
  return (req: Request, res: Response, next: NextFunction): void => {
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "");
    if (m && sameToken(m[1], token)) {
      next();
      return;
    }
    res.status(401).json(restErrorBody(401, "Bad credentials"));
  };
}
