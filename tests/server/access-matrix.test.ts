import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { createTask, registerAgent, registerRepo, startAgent, type TestAgent } from "../../testkit/agents";
import { startTestServer, type TestServer, waitFor } from "../../testkit/server";
import { issueToken } from "../../testkit/tokens";

/**
 * Every route of the route table (the app's own list, so a route added later is walked too) is called with every
 * kind of token, and whether it got past authorization (any answer but 401/403) is compared with the matrix
 * below. Agent B's calls are aimed at agent A's heartbeat and at the task delivered to A.
 */

const CALLERS = ["viewer", "operator", "admin", "agent A", "agent B", "no token"] as const;
type Caller = (typeof CALLERS)[number];
type Cell = "allow" | "deny";

const PUBLIC: Cell[] = ["allow", "allow", "allow", "allow", "allow", "allow"];
const VIEWER: Cell[] = ["allow", "allow", "allow", "deny", "deny", "deny"];
const OPERATOR: Cell[] = ["deny", "allow", "allow", "deny", "deny", "deny"];
const ADMIN: Cell[] = ["deny", "deny", "allow", "deny", "deny", "deny"];
const OPERATOR_OR_AGENT: Cell[] = ["deny", "allow", "allow", "allow", "deny", "deny"];
const ADMIN_OR_AGENT: Cell[] = ["deny", "deny", "allow", "allow", "deny", "deny"];

// Written out by hand, not derived from the routes: this is what the roles are meant to allow.
const EXPECTED: Record<string, Cell[]> = {
  health: PUBLIC,
  ready: PUBLIC,
  metrics: PUBLIC,
  receiveRepoWebhook: PUBLIC,
  receiveOrgWebhook: PUBLIC,
  openapi: VIEWER,
  listRepos: VIEWER,
  getRepo: VIEWER,
  getRun: VIEWER,
  listRuns: VIEWER,
  listRepoRuns: VIEWER,
  listTasks: VIEWER,
  listRepoTasks: VIEWER,
  listDeliveries: VIEWER,
  listRepoDeliveries: VIEWER,
  streamRunEvents: VIEWER,
  listAgents: VIEWER,
  getTask: VIEWER,
  createOnboarding: OPERATOR,
  previewRepo: OPERATOR,
  refreshRepo: OPERATOR,
  checkRepoDrift: OPERATOR,
  cancelRun: OPERATOR,
  pushRunAuth: OPERATOR,
  createTask: OPERATOR,
  transitionTask: OPERATOR_OR_AGENT,
  reportTaskResult: ADMIN_OR_AGENT,
  agentHeartbeat: ADMIN_OR_AGENT,
  offboardRepo: ADMIN,
  registerAgent: ADMIN,
  createToken: ADMIN,
  listTokens: ADMIN,
  revokeToken: ADMIN,
  listAudit: ADMIN,
  createSubscription: ADMIN,
  listSubscriptions: ADMIN,
  listSubscriptionDeliveries: ADMIN,
  listNotifications: VIEWER,
  deleteSubscription: ADMIN,
};

/** What this test reads of a route table entry (server/route-table.ts RouteSpec). */
interface RouteSpec {
  method: string;
  path: string;
  operationId: string;
  role: string;
  agent?: unknown;
  body?: unknown;
}

let srv: TestServer;
let routes: readonly RouteSpec[] = [];
const agents: TestAgent[] = [];
const tokens = {} as Record<Exclude<Caller, "no token">, string>;
let agentA = "";
let taskOfA = "";
const observed: { route: RouteSpec; caller: Caller; status: number; body: string }[] = [];

async function pathFor(route: RouteSpec): Promise<string> {
  let id: string;
  if (route.path.startsWith("/v1/agents/")) id = agentA;
  else if (route.path.startsWith("/v1/tasks/")) id = taskOfA;
  // Each revocation aims at a token of its own: the callers' tokens must stay valid.
  else if (route.path.startsWith("/v1/tokens/")) id = (await issueToken(srv, { name: "victim", role: "viewer" })).id;
  else id = randomUUID();
  return route.path.replace(":owner", "acme").replace(":repo", "widgets").replace(":org", "acme").replace(":id", id);
}

before(async () => {
  srv = await startTestServer();
  await registerRepo(srv, "acme", "widgets", "proj-a");
  agents.push(await startAgent("accept"), await startAgent("accept"));
  agentA = await registerAgent(srv, "agent-a", agents[0].url, { implement: 1 });
  const agentB = await registerAgent(srv, "agent-b", agents[1].url, { review: 1 });
  for (const role of ["viewer", "operator", "admin"] as const)
    tokens[role] = (await issueToken(srv, { name: `${role}-token`, role })).token;
  tokens["agent A"] = (await issueToken(srv, { name: "agent-a-token", role: "agent", agentId: agentA })).token;
  tokens["agent B"] = (await issueToken(srv, { name: "agent-b-token", role: "agent", agentId: agentB })).token;
  taskOfA = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: {} });
  await waitFor(async () => {
    const task = (await (await srv.request(`/v1/tasks/${taskOfA}`)).json()) as { deliveryStatus: string; attempts: { agentId: string }[] };
    return task.deliveryStatus === "delivered" && task.attempts.at(-1)?.agentId === agentA;
  }, "the task to be delivered to agent A");

  routes = srv.app.routes;
  for (const route of routes) {
    for (const caller of CALLERS) {
      const res = await srv.request(await pathFor(route), {
        method: route.method.toUpperCase(),
        token: caller === "no token" ? null : tokens[caller],
        // Authorization comes before the body is read: any body will do, and an invalid one changes nothing.
        ...(route.body ? { json: {} } : {}),
      });
      // An event stream of a run that does not exist ends at once; others answer and end.
      observed.push({ route, caller, status: res.status, body: await res.text() });
    }
  }
});

after(async () => {
  await srv?.close();
  for (const a of agents) await a.close();
});

const cell = (status: number): Cell => (status === 401 || status === 403 ? "deny" : "allow");

test("every route is allowed and refused to exactly the roles of the matrix", () => {
  const width = Math.max(...routes.map((r) => `${r.method.toUpperCase()} ${r.path}`.length));
  const lines = [["route".padEnd(width), ...CALLERS.map((c) => c.padEnd(9))].join(" | ")];
  for (const route of routes) {
    const cells = CALLERS.map((caller) => {
      const o = observed.find((x) => x.route === route && x.caller === caller)!;
      return `${cell(o.status)} ${o.status}`.padEnd(9);
    });
    lines.push([`${route.method.toUpperCase()} ${route.path}`.padEnd(width), ...cells].join(" | "));
  }
  console.log(`role × route (answer status; agent B aims at agent A's targets)\n${lines.join("\n")}`);

  const unlisted = routes.filter((r) => !EXPECTED[r.operationId]).map((r) => r.operationId);
  assert.deepEqual(unlisted, [], "routes the matrix does not cover: add them to EXPECTED");
  const wrong = observed
    .filter((o) => cell(o.status) !== EXPECTED[o.route.operationId][CALLERS.indexOf(o.caller)])
    .map((o) => `${o.route.operationId} as ${o.caller}: ${o.status} ${o.body.slice(0, 120)}`);
  assert.deepEqual(wrong, []);
});

test("a refusal names its reason: 401 without a token, 403 naming the least role needed for a known one", () => {
  for (const o of observed.filter((x) => cell(x.status) === "deny")) {
    const what = `${o.route.operationId} as ${o.caller}`;
    if (o.caller === "no token") {
      assert.equal(o.status, 401, what);
      assert.deepEqual(JSON.parse(o.body), { error: "unauthenticated" }, what);
    } else {
      assert.equal(o.status, 403, what);
      assert.deepEqual(JSON.parse(o.body), { error: "forbidden", required: o.route.role, agent: o.route.agent !== undefined }, what);
    }
  }
});

test("agent A's token may do for agent A what agent B's may not", async () => {
  const heartbeat = (token: string) => srv.request(`/v1/agents/${agentA}/heartbeat`, { method: "POST", token });
  assert.equal((await heartbeat(tokens["agent A"])).status, 204);
  assert.equal((await heartbeat(tokens["agent B"])).status, 403);
  const report = (token: string) =>
    srv.request(`/v1/tasks/${taskOfA}/result`, { method: "POST", token, json: { outcome: "succeeded", result: { by: "a" } } });
  assert.equal((await report(tokens["agent B"])).status, 403);
  assert.equal((await report(tokens["agent A"])).status, 200);
  // A task that does not exist belongs to no agent: refused, so an agent token cannot probe for tasks.
  const unknown = await srv.request(`/v1/tasks/${randomUUID()}/transition`, {
    method: "POST",
    token: tokens["agent A"],
    json: { to: "PLANNING" },
  });
  assert.equal(unknown.status, 403);
  assert.equal((await srv.request("/v1/tasks/" + taskOfA, { token: tokens["agent A"] })).status, 403, "agents read nothing");
});
