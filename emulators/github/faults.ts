// `/_emulator/faults`: answers GitHub gives under load, served to the next N matching requests. A fault
// is scoped to a token or an owner so that tests sharing one emulator only ever hurt their own calls.
import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { callerOf } from "./auth";
import { validationFailed } from "./errors";
import { tokenDigest } from "./tokens";

export type FaultKind = "rate-limit" | "secondary-rate-limit" | "server-error";

export interface Fault {
  id: string;
  kind: FaultKind;
  status: number;
  /** Requests still to be refused. */
  remaining: number;
  /** Requests refused so far, and with which HTTP status (a GraphQL primary limit is a 200). */
  served: number;
  servedByStatus: Record<string, number>;
  /** Only every n-th matching request is refused (1: each), so that a fault spreads over a whole run. */
  every: number;
  /** Matching requests seen so far. */
  seen: number;
  /** Seconds: until x-ratelimit-reset (primary) or the retry-after header (secondary). */
  waitSeconds: number;
  tokenDigest?: string;
  owner?: string;
}

const STATUSES: Record<FaultKind, number[]> = {
  "rate-limit": [403, 429],
  "secondary-rate-limit": [403, 429],
  "server-error": [500, 502, 503, 504],
};

function invalid(field: string, message: string) {
  return validationFailed({ resource: "Fault", code: "invalid", field, message });
}

/** `POST /_emulator/faults`: `{ kind, count, status?, waitSeconds?, every?, token?, owner? }`; a token or an owner is required. */
export function parseFault(body: unknown): Fault {
  const b = (body ?? {}) as Record<string, unknown>;
  const kind = b.kind as FaultKind;
  if (!(kind in STATUSES)) throw invalid("kind", `kind must be one of ${Object.keys(STATUSES).join(", ")}`);
  const status = b.status ?? STATUSES[kind][kind === "server-error" ? 1 : 0];
  if (typeof status !== "number" || !STATUSES[kind].includes(status)) {
    throw invalid("status", `a ${kind} is answered with ${STATUSES[kind].join(" or ")}`);
  }
  if (!Number.isInteger(b.count) || (b.count as number) < 1) throw invalid("count", "count must be a positive integer");
  const every = b.every ?? 1;
  if (!Number.isInteger(every) || (every as number) < 1) throw invalid("every", "every must be a positive integer");
  const waitSeconds = b.waitSeconds ?? 1;
  if (!Number.isInteger(waitSeconds) || (waitSeconds as number) < 0) throw invalid("waitSeconds", "waitSeconds must be a whole number");
  if (b.token !== undefined && typeof b.token !== "string") throw invalid("token", "token must be a string");
  if (b.owner !== undefined && typeof b.owner !== "string") throw invalid("owner", "owner must be a string");
  // Unscoped, a fault would fail every other client of a shared emulator.
  if (b.token === undefined && b.owner === undefined) throw invalid("token", "a fault needs a token or an owner to apply to");
  return {
    id: randomUUID(),
    kind,
    status,
    remaining: b.count as number,
    served: 0,
    servedByStatus: {},
    every: every as number,
    seen: 0,
    waitSeconds: waitSeconds as number,
    tokenDigest: b.token === undefined ? undefined : tokenDigest(b.token as string),
    owner: (b.owner as string | undefined)?.toLowerCase(),
  };
}

/** The owner a request is about: the REST path's, or a GraphQL request's `owner`/`login` variable. */
function ownerOf(req: Request): string | undefined {
  const rest = /^\/repos\/([^/]+)\//.exec(req.path)?.[1];
  if (rest) return rest.toLowerCase();
  const vars = (req.body as { variables?: Record<string, unknown> } | undefined)?.variables;
  const named = vars?.owner ?? vars?.login;
  return typeof named === "string" ? named.toLowerCase() : undefined;
}

export class FaultList {
  private faults: Fault[] = [];

  add(fault: Fault): Fault {
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults;
  }

  /** Clears the faults of a token or an owner, or all of them when neither is given; returns how many went. */
  clear(scope: { token?: string; owner?: string }): number {
    const digest = scope.token === undefined ? undefined : tokenDigest(scope.token);
    const owner = scope.owner?.toLowerCase();
    const before = this.faults.length;
    this.faults = this.faults.filter(
      (f) => !((digest === undefined || f.tokenDigest === digest) && (owner === undefined || f.owner === owner)),
    );
    return before - this.faults.length;
  }

  /** Serves the first matching fault with requests left, if any; the control routes are never refused. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      if (req.path.startsWith("/_emulator/")) return next();
      const digest = callerOf(res).digest;
      const owner = ownerOf(req);
      const fault = this.faults.find(
        (f) =>
          f.remaining > 0 && (!f.tokenDigest || f.tokenDigest === digest) && (!f.owner || f.owner === owner) && ++f.seen % f.every === 0,
      );
      if (!fault) return next();
      fault.remaining--;
      fault.served++;
      serve(fault, req, res);
      fault.servedByStatus[res.statusCode] = (fault.servedByStatus[res.statusCode] ?? 0) + 1;
    };
  }
}

const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

/** The answers as GitHub gives them: status, headers and message (clients match the message's words). */
function serve(fault: Fault, req: Request, res: Response): void {
  const graphql = req.path === "/graphql";
  const requestId = res.get("x-github-request-id");
  if (fault.kind === "server-error") {
    res.status(fault.status).type("text/html").send("<h1>Server Error</h1>\n<p>Sorry, this page is taking too long to load.</p>");
    return;
  }
  const reset = Math.floor(Date.now() / 1000) + fault.waitSeconds;
  res.set({
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": fault.kind === "rate-limit" ? "0" : "4990",
    "x-ratelimit-reset": String(fault.kind === "rate-limit" ? reset : Math.floor(Date.now() / 1000) + 3600),
    "x-ratelimit-used": fault.kind === "rate-limit" ? "5000" : "10",
    "x-ratelimit-resource": graphql ? "graphql" : "core",
  });
  if (fault.kind === "rate-limit") {
    // GraphQL reports its primary limit as an error of type RATE_LIMITED in a 200 answer.
    if (graphql) {
      res.status(200).json({ errors: [{ type: "RATE_LIMITED", message: "API rate limit already exceeded for user ID 1." }] });
      return;
    }
    res
      .status(fault.status)
      .json({ message: "API rate limit exceeded for user ID 1.", documentation_url: RATE_LIMIT_DOCS, status: String(fault.status) });
    return;
  }
  res.set("retry-after", String(fault.waitSeconds));
  res.status(fault.status).json({
    message:
      "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
      `If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
    documentation_url: `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`,
    status: String(fault.status),
  });
}
