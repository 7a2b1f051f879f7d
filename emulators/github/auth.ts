// The emulator accepts the token it was started with and those tests registered (tokens.ts), in either of
// the two header forms GitHub accepts, and answers with the token's scopes as GitHub does.
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { restErrorBody } from "./errors";
import type { EmulatorStore } from "./state";
import { DEFAULT_SCOPES, FULL_PERMISSIONS, type TokenRecord, tokenDigest } from "./tokens";

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const STARTING_TOKEN: TokenRecord = { scopes: DEFAULT_SCOPES, permissions: FULL_PERMISSIONS };

/** What a request's token may do, as requireToken found it. */
export interface Caller {
  digest: string;
  token: TokenRecord;
}

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

export function requireToken(token: string, store: EmulatorStore) {
  if (!token) throw new Error("the GitHub emulator needs a non-empty token");
  return (req: Request, res: Response, next: NextFunction): void => {
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "");
    const digest = m ? tokenDigest(m[1]) : "";
    const record = m && sameToken(m[1], token) ? STARTING_TOKEN : store.state.tokens?.[digest];
    if (!record) {
      res.status(401).json(restErrorBody(401, "Bad credentials"));
      return;
    }
    // Only classic tokens have OAuth scopes; GitHub sends no such header for a fine-grained one.
    if (record.scopes) res.set("x-oauth-scopes", record.scopes.join(", "));
    res.locals.caller = { digest, token: record } satisfies Caller;
    next();
  };
}
