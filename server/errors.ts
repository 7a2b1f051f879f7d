import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { DatabaseError } from "pg";
import { isDatabaseUnavailable } from "../automation/database-availability";
import { IdempotencyKeyReusedError } from "../automation/run-store";
import { InvalidRepoNameError } from "../stacks/names";
import { RepoConfigError } from "../stacks/repo-config";
import { SecretStoreUnavailableError } from "./webhooks/vault-kv";

/**
 * What can go wrong in a request, and — in `errorHandler` only — which HTTP answer each gets. Handlers
 * throw; they never pick a status code for an error themselves.
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export class RequestValidationError extends Error {
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join("; "));
    this.name = "RequestValidationError";
  }
}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
    this.name = "RunNotFoundError";
  }
}

export class RepoNotFoundError extends Error {
  constructor(readonly fullName: string) {
    super(`repository ${fullName} is not known here`);
    this.name = "RepoNotFoundError";
  }
}

export class RunFinishedError extends Error {
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run ${runId} already finished (${status})`);
    this.name = "RunFinishedError";
  }
}

export class RunNotWaitingForAuthError extends Error {
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run ${runId} is not waiting for auth (${status})`);
    this.name = "RunNotWaitingForAuthError";
  }
}

/** The auth service did not take credentials; its answer is not passed on (it may echo what was sent). */
export class AuthServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthServiceError";
  }
}

export class UnauthenticatedError extends Error {
  constructor() {
    super("a bearer token is required");
    this.name = "UnauthenticatedError";
  }
}

export class ForbiddenError extends Error {
  constructor() {
    super("the bearer token is not accepted");
    this.name = "ForbiddenError";
  }
}

export class RouteNotFoundError extends Error {
  constructor(readonly method: string, readonly path: string) {
    super(`no route ${method} ${path}`);
    this.name = "RouteNotFoundError";
  }
}

export class TaskNotFoundError extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} not found`);
    this.name = "TaskNotFoundError";
  }
}

export class AgentNotFoundError extends Error {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} not found`);
    this.name = "AgentNotFoundError";
  }
}

/** A task names a repository without a registry row: nothing to deliver it with (no authProjectId). */
export class UnknownRepositoryError extends Error {
  constructor(readonly fullName: string) {
    super(`repository ${fullName} is not registered`);
    this.name = "UnknownRepositoryError";
  }
}

/** stacks/workflow.ts canTransition refused the move. */
export class InvalidTransitionError extends Error {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`a task cannot go from ${from} to ${to}`);
    this.name = "InvalidTransitionError";
  }
}

/** An agent reported a result for a task that is not in flight (already finished, or not delivered yet). */
export class TaskNotInFlightError extends Error {
  constructor(
    readonly taskId: string,
    readonly deliveryStatus: string,
  ) {
    super(`task ${taskId} is not in flight (${deliveryStatus})`);
    this.name = "TaskNotInFlightError";
  }
}

/** Why a webhook delivery was turned away, and the status each reason gets. */
const WEBHOOK_REJECTIONS = {
  event_header_missing: 400,
  delivery_header_missing: 400,
  malformed_json: 400,
  repository_mismatch: 400,
  organization_mismatch: 400,
  signature_missing: 401,
  signature_mismatch: 401,
  unknown_repository: 404,
  unknown_organization: 404,
  unsupported_content_type: 415,
  webhooks_not_configured: 503,
} as const;

export type WebhookRejection = keyof typeof WEBHOOK_REJECTIONS;

export class WebhookRejectedError extends Error {
  constructor(
    readonly code: WebhookRejection,
    message: string,
  ) {
    super(message);
    this.name = "WebhookRejectedError";
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

// body-parser's errors carry a `type`; the parse and size failures are the client's.
function bodyParserAnswer(err: { type?: string }): Answer | undefined {
  if (err.type === "entity.parse.failed") {
    return { status: 400, body: { error: "invalid_request", issues: [{ field: "(body)", message: "malformed JSON" }] } };
  }
  if (err.type === "entity.too.large") return { status: 413, body: { error: "payload_too_large" } };
  if (err.type === "encoding.unsupported" || err.type === "charset.unsupported") return { status: 415, body: { error: "unsupported_media_type" } };
  return undefined;
}

function isExposedClientError(err: unknown): err is { status: number } {
  const e = err as { status?: unknown; expose?: unknown } | null;
  return typeof e?.status === "number" && e.status >= 400 && e.status < 500 && e.expose === true;
}

export function answerFor(err: unknown): Answer | undefined {
  if (err instanceof RequestValidationError) return { status: 400, body: { error: "invalid_request", issues: err.issues } };
  if (err instanceof RepoConfigError) {
    const issues = err.issues.map((i) => ({ field: i.key.replace(/^mesh-six:/, ""), message: i.message }));
    return { status: 400, body: { error: "invalid_request", issues } };
  }
  if (err instanceof InvalidRepoNameError) {
    return { status: 400, body: { error: "invalid_request", issues: [{ field: err.field, message: err.message }] } };
  }
  if (err instanceof UnauthenticatedError) {
    return { status: 401, body: { error: "unauthenticated" }, headers: { "WWW-Authenticate": 'Bearer realm="mesh-six"' } };
  }
  if (err instanceof ForbiddenError) return { status: 403, body: { error: "forbidden" } };
  if (err instanceof RunNotFoundError) return { status: 404, body: { error: "run_not_found" } };
  if (err instanceof RepoNotFoundError) return { status: 404, body: { error: "repo_not_found" } };
  if (err instanceof TaskNotFoundError) return { status: 404, body: { error: "task_not_found" } };
  if (err instanceof AgentNotFoundError) return { status: 404, body: { error: "agent_not_found" } };
  if (err instanceof UnknownRepositoryError) return { status: 404, body: { error: "unknown_repository", repository: err.fullName } };
  if (err instanceof InvalidTransitionError) return { status: 409, body: { error: "invalid_transition", from: err.from, to: err.to } };
  if (err instanceof TaskNotInFlightError) return { status: 409, body: { error: "task_not_in_flight", deliveryStatus: err.deliveryStatus } };
  if (err instanceof RouteNotFoundError) return { status: 404, body: { error: "not_found" } };
  if (err instanceof RunFinishedError) return { status: 409, body: { error: "run_finished", status: err.status } };
  if (err instanceof RunNotWaitingForAuthError) return { status: 409, body: { error: "run_not_waiting_for_auth", status: err.status } };
  if (err instanceof AuthServiceError) return { status: 502, body: { error: "auth_service_failed" } };
  if (err instanceof WebhookRejectedError) return { status: WEBHOOK_REJECTIONS[err.code], body: { error: err.code } };
  // GitHub redelivers on a 5xx: the delivery is not lost while Vault is away.
  if (err instanceof SecretStoreUnavailableError) return { status: 503, body: { error: "secret_store_unavailable" } };
  // The database is down or restarting: nothing was done, and the same request can simply be sent again.
  if (isDatabaseUnavailable(err)) return { status: 503, headers: { "Retry-After": "5" }, body: { error: "database_unavailable" } };
  if (err instanceof IdempotencyKeyReusedError) return { status: 422, body: { error: "idempotency_key_reused" } };
  const parserAnswer = err && typeof err === "object" && "type" in err ? bodyParserAnswer(err as { type?: string }) : undefined;
  if (parserAnswer) return parserAnswer;
  // The body parser's other client errors (a body that does not inflate, a Content-Length it did not get);
  // http-errors marks them `expose`.
  if (isExposedClientError(err)) {
    return { status: err.status, body: { error: "invalid_request", issues: [{ field: "(body)", message: "the body could not be read" }] } };
  }
  // The router could not percent-decode a path parameter (`%ff`, `%zz`).
  if (err instanceof URIError) return { status: 400, body: { error: "invalid_request", issues: [{ field: "(path)", message: "malformed percent-encoding" }] } };
  // PostgreSQL's data exceptions (class 22) are values it cannot take from the request: a NUL character in a
  // string, an id that is not a uuid.
  if (err instanceof DatabaseError && err.code?.startsWith("22")) {
    return { status: 400, body: { error: "invalid_request", issues: [{ field: "(request)", message: "holds a value that cannot be stored (e.g. a NUL character or a malformed id)" }] } };
  }
  return undefined;
}

function send(res: Response, answer: Answer): void {
  for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
  res.status(answer.status).json(answer.body);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => next(new RouteNotFoundError(req.method, req.path));

export function errorHandler(log: (line: string) => void = (l) => console.error(l)): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const answer = answerFor(err);
    if (answer) return send(res, answer);
    // The message only: a stack or a request dump could carry what the client sent.
    log(`${req.method} ${req.path}: ${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`);
    send(res, { status: 500, body: { error: "internal_error" } });
  };
}
