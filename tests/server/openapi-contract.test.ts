import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Pool } from "pg";
import { vaultOrgWebhookPath } from "../../domain/names";
import { WebhookSecretCache } from "../../server/webhooks/secret-cache";
import { vaultWebhookPath } from "../../domain/names";
import { registerAgent, registerRepo, startAgent, type TestAgent } from "../../testkit/agents";
import { type AuthorizationServer, type AuthService, startAuthorizationServer, startAuthService } from "../../testkit/oauth-server";
import { type ObservedResponse, type Operation, ResponseValidator } from "../../testkit/openapi-validator";
import { rawRequest } from "../../testkit/raw-http";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, type TestServer, waitFor, waitForStatus } from "../../testkit/server";
import { issueToken } from "../../testkit/tokens";

/**
 * The OpenAPI document against what the server does. Every operation of the document (paths × methods, so a
 * route added without probes fails here) is called: its successes, its domain errors, and the errors any
 * hostile client can provoke (no token, a wrong token, malformed JSON, another content type, a body too
 * large, a bad path parameter, headers too large, the database down). Every answer must be a status the
 * operation documents, with the documented content type and a body that matches the documented schema.
 */

const SECRET = "contract-webhook-secret";
const BAD_PATH = "%ff";

interface Env {
  srv: TestServer;
  /** The same app over a database that cannot be reached, with no webhook secrets. */
  down: TestServer;
  as: AuthorizationServer;
  service: AuthService;
  agent: TestAgent;
  doc: Record<string, unknown>;
  validator: ResponseValidator;
  finishedRun: string;
  waitingRun: string;
  agentId: string;
  /** Tokens too weak for some operation: a viewer's, and an agent's (for the operations a viewer may call); one to revoke. */
  weak: { viewer: string; agent: string; revocable: string };
  /** Notification subscriptions: one whose deliveries are listed, one to delete. */
  subscriptions: { kept: string; deletable: string };
}

interface Probe {
  name: string;
  status: number;
  /** Answers from `down` when set; otherwise from `srv`. */
  send(env: Env): Promise<ObservedResponse>;
}

async function observe(res: Response): Promise<ObservedResponse> {
  return { status: res.status, contentType: res.headers.get("content-type"), body: await res.text() };
}

const sign = (body: string) => `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;

/** A request through `srv.request` (test token unless `token` says otherwise). */
function call(
  which: "srv" | "down",
  path: string | ((env: Env) => string),
  init: RequestInit & { token?: string | null; json?: unknown } = {},
) {
  return async (env: Env) => observe(await env[which].request(typeof path === "string" ? path : path(env), init));
}

function webhook(path: string, body: string, headers: Record<string, string | undefined> = {}, which: "srv" | "down" = "srv") {
  const h: Record<string, string> = {};
  const all = {
    "content-type": "application/json",
    "x-github-event": "ping",
    "x-github-delivery": randomUUID(),
    "x-hub-signature-256": sign(body),
    ...headers,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) h[k] = v;
  return call(which, path, { method: "POST", token: null, headers: h, body });
}

const repoHook = (fullName = "acme/widgets", extra: Record<string, unknown> = {}) =>
  JSON.stringify({ zen: "hi", repository: { full_name: fullName }, ...extra });
const orgHook = (login = "acme") => JSON.stringify({ zen: "hi", organization: { login } });

// A valid request per operation, sent to the server whose database is down (and, for the generic probes,
// the path values every operation is called with).
const PATH_VALUES: Record<string, string> = { owner: "acme", repo: "widgets", org: "acme" };
const VALID_BODY: Record<string, unknown> = {
  createOnboarding: { owner: "acme", repo: "widgets" },
  previewRepo: { displayName: "Widgets" },
  pushRunAuth: { access_token: "a-token", token_type: "Bearer" },
  registerAgent: { name: "a", endpoint: "http://127.0.0.1:1/tasks", capabilities: { implement: 1 } },
  createTask: { capability: "implement", owner: "acme", repo: "widgets", payload: {} },
  transitionTask: { to: "PLANNING" },
  reportTaskResult: { outcome: "succeeded" },
  createToken: { name: "contract", role: "viewer" },
  createSubscription: { channel: "ntfy", url: "http://127.0.0.1:1", topic: "contract", events: ["run.failed"] },
};

function fillPath(op: Operation, params: Record<string, string> = {}): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => params[name] ?? PATH_VALUES[name] ?? randomUUID());
}

/** What every operation is sent regardless of what it does, derived from its entry in the document. */
function genericProbes(op: Operation): Probe[] {
  const secured = !(Array.isArray(op.spec.security) && op.spec.security.length === 0);
  const hasBody = op.spec.requestBody !== undefined;
  const pathParams = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const method = op.method.toUpperCase();
  const body = VALID_BODY[op.operationId];
  const probes: Probe[] = [
    {
      name: "headers larger than 16 KiB",
      status: 431,
      send: async (env) => {
        const res = await rawRequest(env.srv.url, `${method} ${fillPath(op)} HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
        return { status: res.status, contentType: res.headers["content-type"] ?? null, body: res.body };
      },
    },
    {
      name: "a header with a control character",
      status: 400,
      send: async (env) => {
        const res = await rawRequest(env.srv.url, `${method} ${fillPath(op)} HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n`);
        return { status: res.status, contentType: res.headers["content-type"] ?? null, body: res.body };
      },
    },
  ];
  if (secured) {
    probes.push(
      { name: "no bearer token", status: 401, send: call("srv", fillPath(op), { method, token: null }) },
      { name: "a wrong bearer token", status: 401, send: call("srv", fillPath(op), { method, token: "wrong-token-0123456789" }) },
      {
        name: "a token of a role too weak",
        status: 403,
        send: (env) =>
          call("srv", fillPath(op), { method, token: op.spec["x-mesh-six-role"] === "viewer" ? env.weak.agent : env.weak.viewer })(env),
      },
    );
  }
  if (hasBody) {
    const path = fillPath(op);
    probes.push(
      {
        name: "malformed JSON",
        status: 400,
        send: call("srv", path, { method, headers: { "content-type": "application/json" }, body: '{"owner": ' }),
      },
      {
        name: "a JSON body sent as text/plain",
        status: 415,
        send: call("srv", path, { method, headers: { "content-type": "text/plain" }, body: JSON.stringify(body) }),
      },
      {
        name: "a body in a charset other than UTF-8",
        status: 415,
        send: call("srv", path, { method, headers: { "content-type": "application/json; charset=latin1" }, body: JSON.stringify(body) }),
      },
      { name: "a body larger than 64 KiB", status: 413, send: call("srv", path, { method, json: { owner: "a".repeat(70_000) } }) },
      { name: "a JSON body that is not an object", status: 400, send: call("srv", path, { method, json: [1, 2] }) },
    );
  }
  if (pathParams.length > 0) {
    for (const param of pathParams) {
      probes.push({
        name: `a malformed percent-encoding in {${param}}`,
        status: 400,
        send: call("srv", fillPath(op, { [param]: BAD_PATH }), { method, ...(body ? { json: body } : {}) }),
      });
    }
  }
  return probes;
}

/** What every history list answers (server/pagination.ts): a page, a filtered one, a cursor not given here, a bad filter. */
function listProbes(path: string, filters: string, badFilter: string): Probe[] {
  return [
    { name: "a page", status: 200, send: call("srv", `${path}?limit=1`) },
    { name: "filtered", status: 200, send: call("srv", `${path}?${filters}`) },
    { name: "a cursor this server did not give", status: 400, send: call("srv", `${path}?cursor=abc`) },
    { name: "a bad filter", status: 400, send: call("srv", `${path}?${badFilter}`) },
    { name: "database down", status: 503, send: call("down", path) },
  ];
}

/** The same of a repo's list, and its repo unknown or misnamed. */
function repoListProbes(what: string, filters: string, badFilter: string): Probe[] {
  return [
    ...listProbes(`/v1/repos/acme/widgets/${what}`, filters, badFilter),
    { name: "unknown", status: 404, send: call("srv", `/v1/repos/acme/nothing-here/${what}`) },
    { name: "an invalid owner", status: 400, send: call("srv", `/v1/repos/-bad-/widgets/${what}`) },
  ];
}

/** Each operation's own answers: successes first, then what it refuses. */
const PROBES: Record<string, Probe[]> = {
  health: [{ name: "up", status: 200, send: call("srv", "/healthz", { token: null }) }],
  ready: [
    { name: "ready", status: 200, send: call("srv", "/readyz", { token: null }) },
    { name: "database down", status: 503, send: call("down", "/readyz", { token: null }) },
  ],
  metrics: [
    { name: "exposition", status: 200, send: call("srv", "/metrics", { token: null }) },
    { name: "database down", status: 200, send: call("down", "/metrics", { token: null }) },
  ],
  openapi: [
    { name: "the document", status: 200, send: call("srv", "/v1/openapi.json") },
    // Configured tokens are known without the database; any other has to be looked up in it.
    { name: "an issued token, database down", status: 503, send: call("down", "/v1/openapi.json", { token: "m6_not-configured-here" }) },
  ],
  createToken: [
    { name: "issued", status: 201, send: call("srv", "/v1/tokens", { method: "POST", json: VALID_BODY.createToken }) },
    {
      name: "an agent token",
      status: 201,
      send: (env) => call("srv", "/v1/tokens", { method: "POST", json: { name: "agent", role: "agent", agentId: env.agentId } })(env),
    },
    { name: "an unknown role", status: 400, send: call("srv", "/v1/tokens", { method: "POST", json: { name: "x", role: "root" } }) },
    {
      name: "an agent token for no registered agent",
      status: 400,
      send: call("srv", "/v1/tokens", { method: "POST", json: { name: "x", role: "agent", agentId: randomUUID() } }),
    },
    { name: "database down", status: 503, send: call("down", "/v1/tokens", { method: "POST", json: VALID_BODY.createToken }) },
  ],
  listTokens: [
    { name: "the tokens", status: 200, send: call("srv", "/v1/tokens") },
    { name: "database down", status: 503, send: call("down", "/v1/tokens") },
  ],
  revokeToken: [
    { name: "revoked", status: 204, send: call("srv", (e) => `/v1/tokens/${e.weak.revocable}`, { method: "DELETE" }) },
    { name: "no such token", status: 404, send: call("srv", `/v1/tokens/${randomUUID()}`, { method: "DELETE" }) },
    { name: "database down", status: 503, send: call("down", `/v1/tokens/${randomUUID()}`, { method: "DELETE" }) },
  ],
  createSubscription: [
    { name: "an ntfy topic", status: 201, send: call("srv", "/v1/subscriptions", { method: "POST", json: VALID_BODY.createSubscription }) },
    {
      name: "a webhook, without Vault to keep its secret",
      status: 503,
      send: call("srv", "/v1/subscriptions", {
        method: "POST",
        json: { channel: "webhook", url: "http://127.0.0.1:1/hook", events: ["run.failed"] },
      }),
    },
    {
      name: "an unknown event",
      status: 400,
      send: call("srv", "/v1/subscriptions", {
        method: "POST",
        json: { ...(VALID_BODY.createSubscription as object), events: ["run.exploded"] },
      }),
    },
    {
      name: "database down",
      status: 503,
      send: call("down", "/v1/subscriptions", { method: "POST", json: VALID_BODY.createSubscription }),
    },
  ],
  listSubscriptions: [
    { name: "the subscriptions", status: 200, send: call("srv", "/v1/subscriptions") },
    { name: "database down", status: 503, send: call("down", "/v1/subscriptions") },
  ],
  listSubscriptionDeliveries: [
    { name: "its ledger", status: 200, send: call("srv", (e) => `/v1/subscriptions/${e.subscriptions.kept}/deliveries`) },
    { name: "no such subscription", status: 404, send: call("srv", `/v1/subscriptions/${randomUUID()}/deliveries`) },
    { name: "database down", status: 503, send: call("down", `/v1/subscriptions/${randomUUID()}/deliveries`) },
  ],
  listNotifications: [
    { name: "the ledger", status: 200, send: call("srv", "/v1/notifications") },
    { name: "database down", status: 503, send: call("down", "/v1/notifications") },
  ],
  deleteSubscription: [
    { name: "deleted", status: 204, send: call("srv", (e) => `/v1/subscriptions/${e.subscriptions.deletable}`, { method: "DELETE" }) },
    { name: "no such subscription", status: 404, send: call("srv", `/v1/subscriptions/${randomUUID()}`, { method: "DELETE" }) },
    { name: "database down", status: 503, send: call("down", `/v1/subscriptions/${randomUUID()}`, { method: "DELETE" }) },
  ],
  listAudit: listProbes("/v1/audit", "actor=config:1&route=/v1/onboardings&since=2020-01-01T00:00:00Z", "who=me"),
  listRuns: listProbes("/v1/runs", "kind=onboard&status=succeeded&since=2020-01-01T00:00:00Z", "kind=deploy"),
  listRepoRuns: repoListProbes("runs", "kind=onboard&until=2030-01-01T00:00:00Z", "limit=501"),
  listTasks: listProbes("/v1/tasks", "state=INTAKE&status=pending&capability=implement", "state=DONE"),
  listRepoTasks: repoListProbes("tasks", `agent=${randomUUID()}&since=2020-01-01T00:00:00Z`, "agent=me"),
  listDeliveries: listProbes("/v1/deliveries", "event=issues&outcome=processed", "outcome=lost"),
  listRepoDeliveries: repoListProbes("deliveries", "until=2030-01-01T00:00:00Z", "limit=0"),
  createOnboarding: [
    {
      name: "accepted",
      status: 202,
      send: call("srv", "/v1/onboardings", {
        method: "POST",
        json: { owner: "acme", repo: "gizmos", skipAuth: true },
        headers: { "idempotency-key": "contract-1" },
      }),
    },
    {
      name: "the same Idempotency-Key again",
      status: 200,
      send: call("srv", "/v1/onboardings", {
        method: "POST",
        json: { owner: "acme", repo: "gizmos", skipAuth: true },
        headers: { "idempotency-key": "contract-1" },
      }),
    },
    {
      name: "the key with another request",
      status: 422,
      send: call("srv", "/v1/onboardings", {
        method: "POST",
        json: { owner: "acme", repo: "other" },
        headers: { "idempotency-key": "contract-1" },
      }),
    },
    {
      name: "an invalid Idempotency-Key",
      status: 400,
      send: call("srv", "/v1/onboardings", { method: "POST", json: { owner: "acme", repo: "gizmos" }, headers: { "idempotency-key": "" } }),
    },
    {
      name: "an unknown field",
      status: 400,
      send: call("srv", "/v1/onboardings", { method: "POST", json: { owner: "acme", repo: "gizmos", image: "evil" } }),
    },
    { name: "database down", status: 503, send: call("down", "/v1/onboardings", { method: "POST", json: VALID_BODY.createOnboarding }) },
  ],
  listRepos: [
    { name: "the repos", status: 200, send: call("srv", "/v1/repos") },
    { name: "the offboarded ones", status: 200, send: call("srv", "/v1/repos?state=offboarded") },
    { name: "a state that is none", status: 400, send: call("srv", "/v1/repos?state=gone") },
    { name: "database down", status: 503, send: call("down", "/v1/repos") },
  ],
  getRepo: [
    { name: "known", status: 200, send: call("srv", "/v1/repos/acme/widgets") },
    { name: "unknown", status: 404, send: call("srv", "/v1/repos/acme/nothing-here") },
    { name: "an invalid owner", status: 400, send: call("srv", "/v1/repos/-bad-/widgets") },
    { name: "database down", status: 503, send: call("down", "/v1/repos/acme/widgets") },
  ],
  previewRepo: [
    {
      name: "accepted",
      status: 202,
      send: call("srv", "/v1/repos/acme/widgets/preview", {
        method: "POST",
        json: { displayName: "W" },
        headers: { "idempotency-key": "contract-p" },
      }),
    },
    { name: "no body at all", status: 202, send: call("srv", "/v1/repos/acme/widgets/preview", { method: "POST" }) },
    {
      name: "the same Idempotency-Key again",
      status: 200,
      send: call("srv", "/v1/repos/acme/widgets/preview", {
        method: "POST",
        json: { displayName: "W" },
        headers: { "idempotency-key": "contract-p" },
      }),
    },
    {
      name: "the key with another request",
      status: 422,
      send: call("srv", "/v1/repos/acme/widgets/preview", {
        method: "POST",
        json: { displayName: "X" },
        headers: { "idempotency-key": "contract-p" },
      }),
    },
    {
      name: "an invalid setting",
      status: 400,
      send: call("srv", "/v1/repos/acme/widgets/preview", { method: "POST", json: { displayName: 5 } }),
    },
    { name: "an invalid repo name", status: 400, send: call("srv", "/v1/repos/acme/widgets.git/preview", { method: "POST", json: {} }) },
    {
      name: "database down",
      status: 503,
      send: call("down", "/v1/repos/acme/widgets/preview", { method: "POST", json: VALID_BODY.previewRepo }),
    },
  ],
  ...Object.fromEntries(
    (
      [
        ["refreshRepo", "POST", "refresh"],
        ["checkRepoDrift", "POST", "drift-check"],
        ["offboardRepo", "DELETE", ""],
      ] as const
    ).map(([op, method, suffix]) => {
      const at = (owner: string, repo: string) => `/v1/repos/${owner}/${repo}${suffix ? `/${suffix}` : ""}`;
      const key = `contract-${op}`;
      return [
        op,
        [
          { name: "accepted", status: 202, send: call("srv", at("acme", "widgets"), { method, headers: { "idempotency-key": key } }) },
          {
            name: "the same Idempotency-Key again",
            status: 200,
            send: call("srv", at("acme", "widgets"), { method, headers: { "idempotency-key": key } }),
          },
          {
            name: "the key on another repo",
            status: 422,
            send: call("srv", at("acme", "gizmos"), { method, headers: { "idempotency-key": key } }),
          },
          { name: "unknown repo", status: 404, send: call("srv", at("acme", "nothing-here"), { method }) },
          { name: "an invalid owner", status: 400, send: call("srv", at("-bad-", "widgets"), { method }) },
          {
            name: "an invalid Idempotency-Key",
            status: 400,
            send: call("srv", at("acme", "widgets"), { method, headers: { "idempotency-key": "has space" } }),
          },
          { name: "database down", status: 503, send: call("down", at("acme", "widgets"), { method }) },
        ] satisfies Probe[],
      ];
    }),
  ),
  getRun: [
    { name: "a run", status: 200, send: call("srv", (e) => `/v1/runs/${e.finishedRun}`) },
    { name: "no such run", status: 404, send: call("srv", `/v1/runs/${randomUUID()}`) },
    { name: "not a uuid", status: 404, send: call("srv", "/v1/runs/not-a-uuid") },
    { name: "database down", status: 503, send: call("down", `/v1/runs/${randomUUID()}`) },
  ],
  streamRunEvents: [
    { name: "the events of a finished run", status: 200, send: call("srv", (e) => `/v1/runs/${e.finishedRun}/events`) },
    {
      name: "nothing after Last-Event-ID",
      status: 204,
      send: call("srv", (e) => `/v1/runs/${e.finishedRun}/events`, { headers: { "last-event-id": "999999" } }),
    },
    {
      name: "a malformed Last-Event-ID",
      status: 400,
      send: call("srv", (e) => `/v1/runs/${e.finishedRun}/events`, { headers: { "last-event-id": "abc" } }),
    },
    { name: "no such run", status: 404, send: call("srv", `/v1/runs/${randomUUID()}/events`) },
    { name: "database down", status: 503, send: call("down", `/v1/runs/${randomUUID()}/events`) },
  ],
  pushRunAuth: [
    {
      name: "an invalid token response",
      status: 400,
      send: call("srv", (e) => `/v1/runs/${e.waitingRun}/auth`, { method: "POST", json: { token_type: "Bearer" } }),
    },
    {
      name: "the auth service refuses",
      status: 502,
      send: async (env) => {
        env.service.failWith = 500;
        try {
          return await call("srv", `/v1/runs/${env.waitingRun}/auth`, { method: "POST", json: VALID_BODY.pushRunAuth })(env);
        } finally {
          env.service.failWith = undefined;
        }
      },
    },
    {
      name: "delivered",
      status: 202,
      send: call("srv", (e) => `/v1/runs/${e.waitingRun}/auth`, { method: "POST", json: VALID_BODY.pushRunAuth }),
    },
    {
      name: "a run not waiting",
      status: 409,
      send: call("srv", (e) => `/v1/runs/${e.finishedRun}/auth`, { method: "POST", json: VALID_BODY.pushRunAuth }),
    },
    {
      name: "no such run",
      status: 404,
      send: call("srv", `/v1/runs/${randomUUID()}/auth`, { method: "POST", json: VALID_BODY.pushRunAuth }),
    },
    {
      name: "database down",
      status: 503,
      send: call("down", `/v1/runs/${randomUUID()}/auth`, { method: "POST", json: VALID_BODY.pushRunAuth }),
    },
  ],
  cancelRun: [
    {
      name: "a queued run and a running one",
      status: 200,
      send: async (env) => {
        const first = await onboard(env.srv, { owner: "acme", repo: "gated", skipAuth: true });
        const second = await onboard(env.srv, { owner: "acme", repo: "gated", skipAuth: true, displayName: "second" });
        await gate.reached();
        const queued = await observe(await env.srv.request(`/v1/runs/${second.runId}/cancel`, { method: "POST" }));
        cancelRunning = first.runId;
        return queued;
      },
    },
    { name: "a running run", status: 202, send: call("srv", () => `/v1/runs/${cancelRunning}/cancel`, { method: "POST" }) },
    { name: "a finished run", status: 409, send: call("srv", (e) => `/v1/runs/${e.finishedRun}/cancel`, { method: "POST" }) },
    { name: "no such run", status: 404, send: call("srv", `/v1/runs/${randomUUID()}/cancel`, { method: "POST" }) },
    { name: "database down", status: 503, send: call("down", `/v1/runs/${randomUUID()}/cancel`, { method: "POST" }) },
  ],
  registerAgent: [
    { name: "registered", status: 201, send: call("srv", "/v1/agents", { method: "POST", json: VALID_BODY.registerAgent }) },
    {
      name: "no capability",
      status: 400,
      send: call("srv", "/v1/agents", { method: "POST", json: { name: "a", endpoint: "http://127.0.0.1:1/", capabilities: {} } }),
    },
    { name: "database down", status: 503, send: call("down", "/v1/agents", { method: "POST", json: VALID_BODY.registerAgent }) },
  ],
  agentHeartbeat: [
    { name: "noted", status: 204, send: call("srv", (e) => `/v1/agents/${e.agentId}/heartbeat`, { method: "POST" }) },
    { name: "no such agent", status: 404, send: call("srv", `/v1/agents/${randomUUID()}/heartbeat`, { method: "POST" }) },
    { name: "database down", status: 503, send: call("down", `/v1/agents/${randomUUID()}/heartbeat`, { method: "POST" }) },
  ],
  listAgents: [
    { name: "the agents", status: 200, send: call("srv", "/v1/agents") },
    { name: "database down", status: 503, send: call("down", "/v1/agents") },
  ],
  createTask: [
    { name: "accepted", status: 202, send: call("srv", "/v1/tasks", { method: "POST", json: VALID_BODY.createTask }) },
    {
      name: "an unregistered repository",
      status: 404,
      send: call("srv", "/v1/tasks", { method: "POST", json: { ...(VALID_BODY.createTask as object), repo: "unregistered" } }),
    },
    {
      name: "no payload",
      status: 400,
      send: call("srv", "/v1/tasks", { method: "POST", json: { capability: "implement", owner: "acme", repo: "widgets" } }),
    },
    { name: "database down", status: 503, send: call("down", "/v1/tasks", { method: "POST", json: VALID_BODY.createTask }) },
  ],
  getTask: [
    { name: "a task", status: 200, send: call("srv", () => `/v1/tasks/${taskIds.plain}`) },
    { name: "no such task", status: 404, send: call("srv", `/v1/tasks/${randomUUID()}`) },
    { name: "database down", status: 503, send: call("down", `/v1/tasks/${randomUUID()}`) },
  ],
  transitionTask: [
    {
      name: "moved",
      status: 200,
      send: call("srv", () => `/v1/tasks/${taskIds.plain}/transition`, { method: "POST", json: { to: "PLANNING" } }),
    },
    {
      name: "not allowed",
      status: 409,
      send: call("srv", () => `/v1/tasks/${taskIds.plain}/transition`, { method: "POST", json: { to: "ACCEPTED" } }),
    },
    {
      name: "an unknown state",
      status: 400,
      send: call("srv", () => `/v1/tasks/${taskIds.plain}/transition`, { method: "POST", json: { to: "DONE" } }),
    },
    {
      name: "no such task",
      status: 404,
      send: call("srv", `/v1/tasks/${randomUUID()}/transition`, { method: "POST", json: { to: "PLANNING" } }),
    },
    {
      name: "database down",
      status: 503,
      send: call("down", `/v1/tasks/${randomUUID()}/transition`, { method: "POST", json: { to: "PLANNING" } }),
    },
  ],
  reportTaskResult: [
    {
      name: "recorded",
      status: 200,
      send: call("srv", () => `/v1/tasks/${taskIds.plain}/result`, {
        method: "POST",
        json: { outcome: "succeeded", result: { ok: true } },
      }),
    },
    {
      name: "reported again",
      status: 409,
      send: call("srv", () => `/v1/tasks/${taskIds.plain}/result`, { method: "POST", json: { outcome: "succeeded" } }),
    },
    {
      name: "an unknown outcome",
      status: 400,
      send: call("srv", () => `/v1/tasks/${taskIds.plain}/result`, { method: "POST", json: { outcome: "meh" } }),
    },
    {
      name: "no such task",
      status: 404,
      send: call("srv", `/v1/tasks/${randomUUID()}/result`, { method: "POST", json: { outcome: "succeeded" } }),
    },
    {
      name: "database down",
      status: 503,
      send: call("down", `/v1/tasks/${randomUUID()}/result`, { method: "POST", json: { outcome: "succeeded" } }),
    },
  ],
  receiveRepoWebhook: (() => {
    const url = "/webhooks/github/acme/widgets";
    const id = randomUUID();
    return [
      { name: "accepted", status: 202, send: webhook(url, repoHook(), { "x-github-delivery": id }) },
      { name: "a duplicate", status: 200, send: webhook(url, repoHook(), { "x-github-delivery": id }) },
      { name: "no event header", status: 400, send: webhook(url, repoHook(), { "x-github-event": undefined }) },
      { name: "another repository in the payload", status: 400, send: webhook(url, repoHook("acme/other")) },
      { name: "no signature", status: 401, send: webhook(url, repoHook(), { "x-hub-signature-256": undefined }) },
      { name: "a wrong signature", status: 401, send: webhook(url, repoHook(), { "x-hub-signature-256": `sha256=${"0".repeat(64)}` }) },
      { name: "unknown repository", status: 404, send: webhook("/webhooks/github/acme/nothing-here", repoHook("acme/nothing-here")) },
      { name: "a body over the limit", status: 413, send: webhook(url, repoHook("acme/widgets", { pad: "x".repeat(1_100_000) })) },
      { name: "text/plain", status: 415, send: webhook(url, repoHook(), { "content-type": "text/plain" }) },
      { name: "not configured", status: 503, send: webhook(url, repoHook(), {}, "down") },
    ] satisfies Probe[];
  })(),
  receiveOrgWebhook: [
    { name: "accepted", status: 202, send: webhook("/webhooks/github-org/acme", orgHook(), { "x-github-delivery": "contract-org-1" }) },
    { name: "a duplicate", status: 200, send: webhook("/webhooks/github-org/acme", orgHook(), { "x-github-delivery": "contract-org-1" }) },
    { name: "another organization in the payload", status: 400, send: webhook("/webhooks/github-org/acme", orgHook("other")) },
    {
      name: "a wrong signature",
      status: 401,
      send: webhook("/webhooks/github-org/acme", orgHook(), { "x-hub-signature-256": `sha256=${"0".repeat(64)}` }),
    },
    { name: "no secret for the organization", status: 404, send: webhook("/webhooks/github-org/nobody", orgHook("nobody")) },
    {
      name: "a body over the limit",
      status: 413,
      send: webhook("/webhooks/github-org/acme", JSON.stringify({ organization: { login: "acme" }, pad: "x".repeat(1_100_000) })),
    },
    {
      name: "form encoding without a payload field",
      status: 400,
      send: webhook("/webhooks/github-org/acme", "x=1", { "content-type": "application/x-www-form-urlencoded" }),
    },
    { name: "text/plain", status: 415, send: webhook("/webhooks/github-org/acme", orgHook(), { "content-type": "text/plain" }) },
    { name: "not configured", status: 503, send: webhook("/webhooks/github-org/acme", orgHook(), {}, "down") },
  ],
};

// Statuses an operation documents that no probe here provokes, each with the reason.
const NOT_PROVOKED: Record<string, Record<string, string>> = {};
// The same, for every operation.
const NOT_PROVOKED_ANYWHERE: Record<string, string> = {
  "408":
    "request_timeout needs a request left unfinished for the server's request timeout (Node checks every 30 s); tests/unit/client-errors.test.ts checks its answer",
  "500":
    "internal_error answers a fault nobody foresaw, so no request is known to provoke one; tests/unit/client-errors.test.ts checks the answer",
};

const gate = new Gate();
let cancelRunning = "";
const taskIds = { plain: "" };

describe("the OpenAPI document is what the server does", () => {
  const env = {} as Env;
  const results: { op: string; probe: string; expected: number; got: ObservedResponse; problems: string[] }[] = [];

  before(async () => {
    env.as = await startAuthorizationServer();
    env.service = await startAuthService();
    const secrets = new Map([
      [vaultWebhookPath({ owner: "acme", repo: "widgets" }), { secret: SECRET }],
      [vaultOrgWebhookPath("acme"), { secret: SECRET }],
    ]);
    env.srv = await startTestServer({
      runner: new ScriptedRunner().on("acme.gated", { gate }, { once: true }),
      config: { deviceFlow: env.as.config, authServiceUrl: env.service.url, deviceFlowSecondMs: 10 },
      webhookSecrets: new WebhookSecretCache({ read: async (path) => secrets.get(path) }),
    });
    const unreachable = new Pool({ connectionString: "postgresql://nobody@127.0.0.1:1/none", connectionTimeoutMillis: 500 });
    unreachable.on("error", () => undefined);
    env.down = await startTestServer({ startQueue: false, startDispatcher: false, pool: unreachable });
    env.doc = (await (await env.srv.request("/v1/openapi.json")).json()) as Record<string, unknown>;
    env.validator = new ResponseValidator(env.doc);

    await registerRepo(env.srv, "acme", "widgets", "proj-1");
    env.agent = await startAgent("accept");
    env.agentId = await registerAgent(env.srv, "contract-agent", env.agent.url, { implement: 1 });
    env.weak = {
      viewer: (await issueToken(env.srv, { name: "contract-viewer", role: "viewer" })).token,
      agent: (await issueToken(env.srv, { name: "contract-agent", role: "agent", agentId: env.agentId })).token,
      revocable: (await issueToken(env.srv, { name: "contract-revocable", role: "viewer" })).id,
    };
    const subscribe = async () =>
      (
        (await (await env.srv.request("/v1/subscriptions", { method: "POST", json: VALID_BODY.createSubscription })).json()) as {
          id: string;
        }
      ).id;
    env.subscriptions = { kept: await subscribe(), deletable: await subscribe() };
    const finished = await onboard(env.srv, { owner: "acme", repo: "widgets", skipAuth: true });
    env.finishedRun = (await waitForStatus(env.srv, finished.runId, "succeeded")).id;
    const waiting = await onboard(env.srv, { owner: "acme", repo: "waiting", authProjectId: "proj-2" });
    env.waitingRun = (await waitForStatus(env.srv, waiting.runId, "waiting-for-auth")).id;
    const task = await env.srv.request("/v1/tasks", {
      method: "POST",
      json: { capability: "implement", owner: "acme", repo: "widgets", payload: { n: 1 } },
    });
    taskIds.plain = ((await task.json()) as { taskId: string }).taskId;
    await waitFor(
      async () =>
        ((await (await env.srv.request(`/v1/tasks/${taskIds.plain}`)).json()) as { deliveryStatus: string }).deliveryStatus === "delivered",
      "the task to be delivered",
    );

    for (const op of env.validator.operations) {
      for (const probe of [...(PROBES[op.operationId] ?? []), ...genericProbes(op)]) {
        const got = await probe.send(env);
        results.push({
          op: op.operationId,
          probe: probe.name,
          expected: probe.status,
          got,
          problems: env.validator.check(op.operationId, got),
        });
      }
    }
  });

  after(async () => {
    gate.release();
    await env.srv?.close();
    await env.down?.close();
    await env.agent?.close();
    await env.service?.close();
    await env.as?.close();
  });

  test("every operation of the document has probes of its own", () => {
    const missing = env.validator.operations.filter((op) => !PROBES[op.operationId]?.length).map((op) => op.operationId);
    assert.deepEqual(missing, []);
    const stale = Object.keys(PROBES).filter((id) => !env.validator.operations.some((op) => op.operationId === id));
    assert.deepEqual(stale, [], "probes for operations the document no longer has");
  });

  test("every probe gets the status it is written for", () => {
    const wrong = results
      .filter((r) => r.got.status !== r.expected)
      .map((r) => `${r.op} / ${r.probe}: expected ${r.expected}, got ${r.got.status} ${r.got.body.slice(0, 200)}`);
    assert.deepEqual(wrong, []);
  });

  test("every response is documented: its status, its content type, a body matching the schema", () => {
    const problems = results.flatMap((r) => r.problems.map((p) => `${r.op} / ${r.probe}: ${p}`));
    assert.deepEqual(problems, []);
  });

  test("every status an operation documents is provoked by some probe", () => {
    const unprovoked = env.validator.operations.flatMap((op) =>
      env.validator
        .documentedStatuses(op.operationId)
        .filter((status) => !results.some((r) => r.op === op.operationId && String(r.got.status) === status))
        .filter((status) => !NOT_PROVOKED[op.operationId]?.[status] && !NOT_PROVOKED_ANYWHERE[status])
        .map((status) => `${op.operationId} ${status}`),
    );
    assert.deepEqual(unprovoked, []);
  });

  test("error bodies name their error with a code, and never carry a token", () => {
    const errors = results.filter((r) => r.got.status >= 400 && r.op !== "ready");
    const uncoded = errors
      .filter((r) => !/^\s*\{"error":"[a-z_]+"/.test(r.got.body))
      .map((r) => `${r.op} / ${r.probe}: ${r.got.status} ${r.got.body.slice(0, 120)}`);
    assert.deepEqual(uncoded, []);
    for (const r of results)
      assert.doesNotMatch(r.got.body, /a-token|wrong-token|test-token|contract-webhook-secret/, `${r.op} / ${r.probe}`);
  });
});
