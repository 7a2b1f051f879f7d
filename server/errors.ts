import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { DatabaseError } from "pg";
import { isDatabaseUnavailable } from "../db/database-availability";
import { defaultLogger, type Logger } from "../lib/logger";
import { IdempotencyKeyReusedError } from "../runs/run-store";
import { InvalidRepoNameError } from "../domain/names";
import type { RankedRole } from "../domain/roles";
import { RepoConfigError } from "../domain/repo-config";
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

/** The token is known, but its role may not call the route. */
export class ForbiddenError extends Error {
  constructor(
    readonly required: RankedRole,
    /** Whether an agent token may call it for its own agent. */
    readonly agentScoped: boolean,
  ) {
    super(`this needs the ${required} role${agentScoped ? " (or the token of the agent it concerns)" : ""}`);
    this.name = "ForbiddenError";
  }
}

export class TokenNotFoundError extends Error {
  constructor(readonly tokenId: string) {
    super(`token ${tokenId} not found`);
    this.name = "TokenNotFoundError";
  }
}

export class SubscriptionNotFoundError extends Error {
  constructor(readonly subscriptionId: string) {
    super(`subscription ${subscriptionId} not found`);
    this.name = "SubscriptionNotFoundError";
  }
}

/** A webhook subscription's signing secret is kept in Vault, and this server has none configured. */
export class SecretStoreNotConfiguredError extends Error {
  constructor() {
    super("webhook subscriptions keep their signing secret in Vault: set VAULT_ADDR and VAULT_TOKEN");
    this.name = "SecretStoreNotConfiguredError";
  }
}

export class RouteNotFoundError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
  ) {
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

/** domain/workflow.ts canTransition refused the move. */
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

/**
 * Every error code the API answers with and its status: `answerFor` answers by this table, and the OpenAPI
 * document lists, per operation and status, the codes it can get (server/openapi.ts), so the two cannot differ.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, description: "the HTTP parser refused the request (malformed request line, header or chunked body)" },
  invalid_request: { status: 400, description: "a request part is invalid; `issues` names each field" },
  event_header_missing: { status: 400, description: "X-GitHub-Event is missing or invalid" },
  delivery_header_missing: { status: 400, description: "X-GitHub-Delivery is missing or invalid" },
  malformed_json: { status: 400, description: "the delivery's body is not a JSON object" },
  repository_mismatch: { status: 400, description: "the payload names another repository than the URL" },
  organization_mismatch: { status: 400, description: "the payload names another organization than the URL" },
  unauthenticated: { status: 401, description: "no bearer token, or one not known here (never issued, or revoked)" },
  signature_missing: { status: 401, description: "X-Hub-Signature-256 is missing" },
  signature_mismatch: { status: 401, description: "the signature does not match the body" },
  forbidden: {
    status: 403,
    description:
      "the token's role may not do this; `required` names the least role that may, `agent` whether an agent's token may for its own agent",
  },
  not_found: { status: 404, description: "no such route" },
  run_not_found: { status: 404, description: "no such run" },
  repo_not_found: { status: 404, description: "the repository is not known here" },
  task_not_found: { status: 404, description: "no such task" },
  agent_not_found: { status: 404, description: "no such agent" },
  token_not_found: { status: 404, description: "no such token" },
  subscription_not_found: { status: 404, description: "no such notification subscription (or it was deleted)" },
  unknown_repository: { status: 404, description: "the repository is not registered (a task's: `repository` names it)" },
  unknown_organization: { status: 404, description: "the organization has no webhook secret" },
  request_timeout: { status: 408, description: "the request did not arrive within the server's request timeout" },
  invalid_transition: { status: 409, description: "the workflow does not allow the move; `from` and `to` name it" },
  task_not_in_flight: { status: 409, description: "the task is not in flight; `deliveryStatus` says where it is" },
  run_finished: { status: 409, description: "the run already finished; `status` says how" },
  run_not_waiting_for_auth: { status: 409, description: "the run is not waiting for auth; `status` says what it is doing" },
  payload_too_large: { status: 413, description: "the body is larger than the limit" },
  unsupported_media_type: { status: 415, description: "the body is not application/json in UTF-8" },
  unsupported_content_type: { status: 415, description: "neither application/json nor application/x-www-form-urlencoded" },
  idempotency_key_reused: { status: 422, description: "the Idempotency-Key was already used for a different request" },
  header_too_large: { status: 431, description: "the request's headers are larger than 16 KiB" },
  internal_error: { status: 500, description: "the server failed; the request may or may not have taken effect" },
  auth_service_failed: { status: 502, description: "the auth service did not take the credentials" },
  secret_store_unavailable: { status: 503, description: "Vault is unavailable; send the delivery again" },
  database_unavailable: { status: 503, description: "the database is unavailable; nothing was done, send the request again (Retry-After)" },
  webhooks_not_configured: { status: 503, description: "webhooks need Vault (VAULT_ADDR, VAULT_TOKEN)" },
  secret_store_not_configured: {
    status: 503,
    description: "a webhook subscription's signing secret is kept in Vault, which this server has not (VAULT_ADDR, VAULT_TOKEN)",
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A body was sent in a media type the route does not read (only application/json is parsed). */
export class UnsupportedMediaTypeError extends Error {
  constructor(readonly contentType: string | undefined) {
    super(`a body of type ${contentType ?? "(none)"} is not read here: send application/json`);
    this.name = "UnsupportedMediaTypeError";
  }
}

/** Why a webhook delivery was turned away. */
export type WebhookRejection = Extract<
  ErrorCode,
  | "event_header_missing"
  | "delivery_header_missing"
  | "malformed_json"
  | "repository_mismatch"
  | "organization_mismatch"
  | "signature_missing"
  | "signature_mismatch"
  | "unknown_repository"
  | "unknown_organization"
  | "unsupported_content_type"
  | "webhooks_not_configured"
>;

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

function answer(code: ErrorCode, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Answer {
  return { status: ERROR_CODES[code].status, body: { error: code, ...extra }, ...(headers ? { headers } : {}) };
}

const invalid = (field: string, message: string) => answer("invalid_request", { issues: [{ field, message }] });

// body-parser's errors carry a `type`; the parse and size failures are the client's.
function bodyParserAnswer(err: { type?: string }): Answer | undefined {
  if (err.type === "entity.parse.failed") return invalid("(body)", "malformed JSON");
  if (err.type === "entity.too.large") return answer("payload_too_large");
  if (err.type === "encoding.unsupported" || err.type === "charset.unsupported") return answer("unsupported_media_type");
  return undefined;
}

function isExposedClientError(err: unknown): err is { status: number } {
  const e = err as { status?: unknown; expose?: unknown } | null;
  return typeof e?.status === "number" && e.status >= 400 && e.status < 500 && e.expose === true;
}

export function answerFor(err: unknown): Answer | undefined {
  if (err instanceof RequestValidationError) return answer("invalid_request", { issues: err.issues });
  if (err instanceof RepoConfigError) {
    return answer("invalid_request", { issues: err.issues.map((i) => ({ field: i.key.replace(/^mesh-six:/, ""), message: i.message })) });
  }
  if (err instanceof InvalidRepoNameError) return invalid(err.field, err.message);
  if (err instanceof UnauthenticatedError) return answer("unauthenticated", {}, { "WWW-Authenticate": 'Bearer realm="mesh-six"' });
  if (err instanceof ForbiddenError) return answer("forbidden", { required: err.required, agent: err.agentScoped });
  if (err instanceof TokenNotFoundError) return answer("token_not_found");
  if (err instanceof SubscriptionNotFoundError) return answer("subscription_not_found");
  if (err instanceof SecretStoreNotConfiguredError) return answer("secret_store_not_configured");
  if (err instanceof RunNotFoundError) return answer("run_not_found");
  if (err instanceof RepoNotFoundError) return answer("repo_not_found");
  if (err instanceof TaskNotFoundError) return answer("task_not_found");
  if (err instanceof AgentNotFoundError) return answer("agent_not_found");
  if (err instanceof UnknownRepositoryError) return answer("unknown_repository", { repository: err.fullName });
  if (err instanceof InvalidTransitionError) return answer("invalid_transition", { from: err.from, to: err.to });
  if (err instanceof TaskNotInFlightError) return answer("task_not_in_flight", { deliveryStatus: err.deliveryStatus });
  if (err instanceof RouteNotFoundError) return answer("not_found");
  if (err instanceof RunFinishedError) return answer("run_finished", { status: err.status });
  if (err instanceof RunNotWaitingForAuthError) return answer("run_not_waiting_for_auth", { status: err.status });
  if (err instanceof AuthServiceError) return answer("auth_service_failed");
  if (err instanceof WebhookRejectedError) return answer(err.code);
  if (err instanceof UnsupportedMediaTypeError) return answer("unsupported_media_type");
  // GitHub redelivers on a 5xx: the delivery is not lost while Vault is away.
  if (err instanceof SecretStoreUnavailableError) return answer("secret_store_unavailable");
  // The database is down or restarting: nothing was done, and the same request can simply be sent again.
  if (isDatabaseUnavailable(err)) return answer("database_unavailable", {}, { "Retry-After": "5" });
  if (err instanceof IdempotencyKeyReusedError) return answer("idempotency_key_reused");
  const parserAnswer = err && typeof err === "object" && "type" in err ? bodyParserAnswer(err as { type?: string }) : undefined;
  if (parserAnswer) return parserAnswer;
  // The body parser's other client errors (a body that does not inflate, a Content-Length it did not get);
  // http-errors marks them `expose`. All are a 400: a status the document does not list would surprise clients.
  if (isExposedClientError(err)) return invalid("(body)", "the body could not be read");
  // The router could not percent-decode a path parameter (`%ff`, `%zz`).
  if (err instanceof URIError) return invalid("(path)", "malformed percent-encoding");
  // PostgreSQL's data exceptions (class 22) are values it cannot take from the request: a NUL character in a
  // string, an id that is not a uuid.
  if (err instanceof DatabaseError && err.code?.startsWith("22")) {
    return invalid("(request)", "holds a value that cannot be stored (e.g. a NUL character or a malformed id)");
  }
  return undefined;
}

function send(res: Response, answer: Answer): void {
  for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
  res.status(answer.status).json(answer.body);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => next(new RouteNotFoundError(req.method, req.path));

export function errorHandler(log: Logger = defaultLogger()): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const known = answerFor(err);
    if (known) return send(res, known);
    // The message only: a stack or a request dump could carry what the client sent.
    log.error(`${req.method} ${req.path}: ${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`);
    send(res, answer("internal_error"));
  };
}
