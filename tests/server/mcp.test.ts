import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { onboardingRequest, previewRequest } from "../../server/schemas";
import { createTask, registerAgent, registerRepo, startAgent, type TestAgent } from "../../testkit/agents";
import { type AuthorizationServer, type AuthService, startAuthorizationServer, startAuthService } from "../../testkit/oauth-server";
import { onboard, startTestServer, type TestServer, waitFor, waitForStatus } from "../../testkit/server";
import { issueToken, type IssuedToken } from "../../testkit/tokens";

/**
 * The MCP tools against a real server, through the SDK's own client over Streamable HTTP (`/mcp`) and over stdio
 * (`npm run mcp`'s command, spawned), and through the MCP Inspector's CLI. Each tool is one API request with the
 * caller's token, so roles, errors and the audit trail are checked as the API's.
 */

const ROOT = path.resolve(__dirname, "../..");
const PUSHED = { access_token: "mcp-pushed-access-token", token_type: "Bearer", expires_in: 3600, refresh_token: "mcp-pushed-refresh" };

const TOOL_NAMES = [
  "onboard-repo",
  "onboard-project",
  "get-run",
  "get-onboarding-status",
  "list-repos",
  "list-runs",
  "preview-repo",
  "refresh-repo",
  "check-drift",
  "offboard-repo",
  "cancel-run",
  "push-run-auth",
  "submit-oauth-code",
  "list-tasks",
  "get-task",
  "transition-task",
];

let srv: TestServer;
let as: AuthorizationServer;
let service: AuthService;
const tokens = {} as Record<"viewer" | "operator" | "admin" | "agent", IssuedToken>;
const clients: Client[] = [];
let agent: TestAgent;

async function httpClient(token: string): Promise<Client> {
  const client = new Client({ name: "mesh-six-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  );
  clients.push(client);
  return client;
}

/** `npm run mcp`'s command as package.json has it, spawned as an MCP client spawns its servers. */
function mcpCommand(): { command: string; args: string[] } {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const [command, ...args] = pkg.scripts.mcp.split(" ");
  return { command, args };
}

async function stdioClient(token: string): Promise<Client> {
  const client = new Client({ name: "mesh-six-test", version: "1.0.0" });
  const env = { ...(process.env as Record<string, string>), MESH_SIX_URL: srv.url, MESH_SIX_TOKEN: token };
  await client.connect(new StdioClientTransport({ ...mcpCommand(), cwd: ROOT, env, stderr: "pipe" }));
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

const structured = (r: CallToolResult) => r.structuredContent as Record<string, unknown>;
const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

function assertOk(r: CallToolResult, what: string): Record<string, unknown> {
  assert.ok(!r.isError, `${what}: ${text(r)}`);
  return structured(r);
}

/** The tool failed with exactly the API's error body, plus its status; its text names the code and nothing internal. */
function assertApiError(r: CallToolResult, status: number, body: Record<string, unknown>): void {
  assert.equal(r.isError, true, `expected an error, got ${text(r)}`);
  assert.deepEqual(structured(r), { status, ...body });
  assert.match(text(r), new RegExp(`^${String(body.error)} \\(HTTP ${status}\\)`));
  assert.doesNotMatch(text(r), /\n\s+at .+:\d+:\d+/, "no stack trace");
}

async function waitForRun(client: Client, runId: string, status: string): Promise<CallToolResult> {
  return waitFor(async () => {
    const r = await call(client, "get-run", { runId });
    return structured(r).status === status ? r : undefined;
  }, `run ${runId} to be ${status} (through get-run)`);
}

const hasRoute = (method: string, p: string) =>
  srv.app.routes.some((r: { method: string; path: string }) => r.method === method && r.path === p);

before(async () => {
  as = await startAuthorizationServer();
  service = await startAuthService();
  srv = await startTestServer({ config: { deviceFlow: as.config, authServiceUrl: service.url, deviceFlowSecondMs: 10 } });
  for (const role of ["viewer", "operator", "admin"] as const) tokens[role] = await issueToken(srv, { name: `mcp-${role}`, role });
  agent = await startAgent("accept");
  const agentId = await registerAgent(srv, "mcp-agent", agent.url, { "mcp-work": 1 });
  tokens.agent = await issueToken(srv, { name: "mcp-agent", role: "agent", agentId });
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
  await service?.close();
  await as?.close();
  await agent?.close();
});

describe("over Streamable HTTP at /mcp", () => {
  test("tools/list names every tool and the old system's aliases, with the API's own request schemas", async () => {
    const { tools } = await (await httpClient(tokens.viewer.token)).listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    const schema = (name: string) => tools.find((t) => t.name === name)!.inputSchema as { properties: object; required?: string[] };
    // Derived from server/schemas.ts, not written again: the same fields, the same required ones.
    assert.deepEqual(Object.keys(schema("onboard-repo").properties).sort(), Object.keys(onboardingRequest.shape).sort());
    assert.deepEqual(schema("onboard-repo").required, ["owner", "repo"]);
    assert.deepEqual(schema("onboard-project"), schema("onboard-repo"));
    assert.deepEqual(Object.keys(schema("preview-repo").properties).sort(), ["owner", "repo", ...Object.keys(previewRequest.shape)].sort());
    assert.ok(!JSON.stringify(schema("preview-repo")).includes('"default"'), "a preview's omitted field keeps its applied value");
    assert.match(tools.find((t) => t.name === "submit-oauth-code")!.description ?? "", /old system's name for push-run-auth/);
    assert.deepEqual(schema("offboard-repo").required?.sort(), ["confirm", "owner", "repo"]);
  });

  test("onboard, follow the run to its device code, push credentials, then preview, refresh and drift-check it", async () => {
    const op = await httpClient(tokens.operator.token);
    const accepted = assertOk(await call(op, "onboard-repo", { owner: "acme", repo: "widgets", authProjectId: "proj-1" }), "onboard");
    const runId = accepted.runId as string;
    assert.equal(accepted.kind, "onboard");

    const waiting = await waitForRun(op, runId, "waiting-for-auth");
    const auth = structured(waiting).auth as { userCode: string; verificationUriComplete: string };
    assert.equal(structured(waiting).step, "auth");
    assert.match(auth.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok(text(waiting).includes(`open ${auth.verificationUriComplete} and enter the code ${auth.userCode}`), text(waiting));

    const pushed = assertOk(await call(op, "push-run-auth", { runId, ...PUSHED }), "push auth");
    assert.deepEqual(pushed, { runId, status: "waiting-for-auth", authReceived: true });
    await waitForRun(op, runId, "succeeded");
    assert.deepEqual(service.received.at(-1)?.body.token, PUSHED, "the token went to the auth service");

    for (const [tool, kind, args] of [
      ["preview-repo", "preview", { displayName: "Widgets" }],
      ["refresh-repo", "refresh", {}],
      ["check-drift", "drift-check", {}],
    ] as const) {
      const run = assertOk(await call(op, tool, { owner: "acme", repo: "widgets", ...args }), tool);
      assert.equal(run.kind, kind);
      await waitForStatus(srv, run.runId as string, "succeeded");
    }
    const previewed = srv.runner.calls.find((c) => c.kind === "preview");
    assert.equal(previewed?.request.displayName, "Widgets", "the preview ran with the change it was given");

    const listed = assertOk(await call(op, "list-repos"), "list repos");
    const repos = listed.repos as { fullName: string; lastRun: { kind: string } }[];
    assert.deepEqual(
      repos.map((r) => [r.fullName, r.lastRun.kind]),
      [["acme/widgets", "drift-check"]],
    );

    const raw = JSON.stringify(await (await srv.request(`/v1/runs/${runId}`)).json());
    assert.ok(!raw.includes(PUSHED.access_token), "the pushed token is in no run record");
  });

  test("the old system's tool names call the same handlers", async () => {
    const op = await httpClient(tokens.operator.token);
    const accepted = assertOk(await call(op, "onboard-project", { owner: "acme", repo: "gadgets", skipAuth: true }), "onboard-project");
    await waitFor(async () => {
      const r = await call(op, "get-onboarding-status", { runId: accepted.runId });
      return structured(r).status === "succeeded";
    }, "the run to succeed, through get-onboarding-status");
    const late = await call(op, "submit-oauth-code", { runId: accepted.runId, ...PUSHED });
    assertApiError(late, 409, { error: "run_not_waiting_for_auth", status: "succeeded" });
  });

  test("a tool's failure is the API's error: code, meaning and fields, nothing internal", async () => {
    const op = await httpClient(tokens.operator.token);
    assertApiError(await call(op, "get-run", { runId: randomUUID() }), 404, { error: "run_not_found" });
    const invalid = await call(op, "onboard-repo", { owner: "acme", repo: "bad repo name" });
    assert.equal(structured(invalid).error, "invalid_request");
    assert.ok((structured(invalid).issues as { field: string }[]).some((i) => i.field === "repo"));
    assert.match(text(invalid), /^\s+repo: /m, "each issue is named in the text");
    const unknownField = await call(op, "onboard-repo", { owner: "acme", repo: "widgets", replicas: 3 });
    assertApiError(unknownField, 400, { error: "invalid_request", issues: [{ field: "replicas", message: "unknown field" }] });
    assertApiError(await call(op, "get-run", {}), 400, { error: "invalid_request", issues: [{ field: "runId", message: "required" }] });
    await assert.rejects(call(op, "no-such-tool"), /no tool named "no-such-tool"/);
  });

  test("roles are the API's: a viewer reads but cannot onboard or offboard, and an offboarding needs its confirmation", async () => {
    const viewer = await httpClient(tokens.viewer.token);
    assertOk(await call(viewer, "list-repos"), "a viewer lists repos");
    assertApiError(await call(viewer, "onboard-repo", { owner: "acme", repo: "widgets" }), 403, {
      error: "forbidden",
      required: "operator",
      agent: false,
    });
    const offboard = { owner: "acme", repo: "gadgets", confirm: "acme/gadgets" };
    assertApiError(await call(viewer, "offboard-repo", offboard), 403, { error: "forbidden", required: "admin", agent: false });
    const operator = await httpClient(tokens.operator.token);
    assertApiError(await call(operator, "offboard-repo", offboard), 403, { error: "forbidden", required: "admin", agent: false });

    const admin = await httpClient(tokens.admin.token);
    for (const confirm of [undefined, "acme/widgets", "gadgets"]) {
      const refused = await call(admin, "offboard-repo", { owner: "acme", repo: "gadgets", confirm });
      assertApiError(refused, 400, {
        error: "invalid_request",
        issues: [{ field: "confirm", message: 'must be "acme/gadgets", the repository to offboard' }],
      });
    }
    const before = (await (await srv.request("/v1/repos/acme/gadgets")).json()) as { lastRun: { kind: string } };
    assert.notEqual(before.lastRun.kind, "destroy", "a refused offboarding queued nothing");
    const destroy = assertOk(await call(admin, "offboard-repo", offboard), "offboard");
    assert.equal(destroy.kind, "destroy");
    await waitForStatus(srv, destroy.runId as string, "succeeded");
  });

  test("every tool request is in the audit trail as the caller's own API request", async () => {
    const op = await httpClient(tokens.operator.token);
    const run = assertOk(await call(op, "refresh-repo", { owner: "acme", repo: "widgets" }), "refresh");
    await waitForStatus(srv, run.runId as string, "succeeded");
    const audit = (await (await srv.request(`/v1/audit?actor=${tokens.operator.id}&route=/v1/repos/:owner/:repo/refresh`)).json()) as {
      entries: { actor: { id: string; role: string }; method: string; route: string; target: string; status: number }[];
    };
    const entry = audit.entries.find((e) => e.target.includes(run.runId as string));
    assert.deepEqual(entry && { actor: entry.actor.id, role: entry.actor.role, method: entry.method, status: entry.status }, {
      actor: tokens.operator.id,
      role: "operator",
      method: "POST",
      status: 202,
    });
    const protocol = (await (await srv.request("/v1/audit?route=/mcp")).json()) as { entries: unknown[] };
    assert.deepEqual(protocol.entries, [], "/mcp's own messages are not recorded: the requests its tools make are");
  });

  test("tasks: read one, move it along the workflow, a move the workflow refuses is the API's invalid_transition", async () => {
    await registerRepo(srv, "acme", "tasks", "proj-t");
    const taskId = await createTask(srv, { capability: "mcp-work", owner: "acme", repo: "tasks", payload: { n: 1 } });
    await waitFor(() => agent.received.length > 0, "the task to be delivered");
    const op = await httpClient(tokens.operator.token);
    assert.equal(assertOk(await call(op, "get-task", { taskId }), "get task").state, "INTAKE");
    assert.equal(assertOk(await call(op, "transition-task", { taskId, to: "PLANNING" }), "transition").state, "PLANNING");
    assertApiError(await call(op, "transition-task", { taskId, to: "ACCEPTED" }), 409, {
      error: "invalid_transition",
      from: "PLANNING",
      to: "ACCEPTED",
    });
    const listed = await call(op, "list-tasks", { limit: 10 });
    if (hasRoute("get", "/v1/tasks")) {
      assert.ok((assertOk(listed, "list tasks").tasks as { id: string }[]).some((t) => t.id === taskId));
    } else {
      // Until GET /v1/tasks is merged (issue 17 item 2), the tool answers the API's own not_found.
      assertApiError(listed, 404, { error: "not_found" });
    }
  });

  test("list-runs pages through GET /v1/runs and a repository's GET /v1/repos/{owner}/{repo}/runs", async () => {
    const op = await httpClient(tokens.operator.token);
    const listed = await call(op, "list-runs", { kind: "refresh", limit: 50 });
    const ofRepo = await call(op, "list-runs", { owner: "acme", repo: "widgets", limit: 1 });
    if (hasRoute("get", "/v1/runs")) {
      const page = assertOk(listed, "list runs") as { runs: { kind: string; owner: string }[]; nextCursor: string | null };
      assert.ok(page.runs.length >= 2 && page.runs.every((r) => r.kind === "refresh" && r.owner === "acme"), JSON.stringify(page));
      const first = assertOk(ofRepo, "list a repo's runs") as { runs: { repo: string; kind: string }[]; nextCursor: string | null };
      assert.deepEqual(
        first.runs.map((r) => [r.repo, r.kind]),
        [["widgets", "refresh"]],
      );
      const next = assertOk(await call(op, "list-runs", { owner: "acme", repo: "widgets", limit: 1, cursor: first.nextCursor }), "page 2");
      assert.equal((next.runs as { repo: string }[])[0]?.repo, "widgets", "the cursor pages on");
    } else {
      // Until GET /v1/runs is merged (issue 17 item 2): the API's not_found, as the tool's error.
      assertApiError(listed, 404, { error: "not_found" });
      assertApiError(ofRepo, 404, { error: "not_found" });
      const repo = (await (await srv.request("/v1/repos/acme/widgets")).json()) as { lastRun: { kind: string } };
      assert.equal(repo.lastRun.kind, "refresh", "what the tool will list is there: the last run, through GET /v1/repos");
    }
  });

  test("/mcp takes the API's bearer tokens: none is 401, an agent's (no ranked role) is 403", async () => {
    const init = (token: string | null) => ({
      method: "POST",
      token,
      headers: { accept: "application/json, text/event-stream" },
      json: { jsonrpc: "2.0", id: 1, method: "tools/list" },
    });
    const anonymous = await srv.request("/mcp", init(null));
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), { error: "unauthenticated" });
    const agent = await srv.request("/mcp", init(tokens.agent.token));
    assert.equal(agent.status, 403);
    assert.deepEqual(await agent.json(), { error: "forbidden", required: "viewer", agent: false });
    const wrong = await srv.request("/mcp", init("not-a-token"));
    assert.equal(wrong.status, 401);
    const stream = await srv.request("/mcp", { token: tokens.viewer.token });
    assert.equal(stream.status, 405, "stateless: no GET stream");
  });
});

describe("over stdio (npm run mcp)", () => {
  test("the same tools against the server at MESH_SIX_URL with MESH_SIX_TOKEN's role", async () => {
    const client = await stdioClient(tokens.viewer.token);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    const repos = assertOk(await call(client, "list-repos"), "list repos").repos as { fullName: string; lastRun: { id: string } }[];
    const widgets = repos.find((r) => r.fullName === "acme/widgets");
    assert.ok(widgets, JSON.stringify(repos));
    assert.equal(assertOk(await call(client, "get-run", { runId: widgets.lastRun.id }), "get run").id, widgets.lastRun.id);
    assertApiError(await call(client, "offboard-repo", { owner: "acme", repo: "widgets", confirm: "acme/widgets" }), 403, {
      error: "forbidden",
      required: "admin",
      agent: false,
    });
  });
});

const run = promisify(execFile);
const INSPECTOR = path.join(ROOT, "node_modules/@modelcontextprotocol/inspector-cli/build/cli.js");

/**
 * The MCP Inspector's CLI, as `npx mcp-inspector-cli --cli …` runs it. It probes for its own package.json as
 * `../package.json` of the working directory (modelcontextprotocol/inspector#1503), so it runs from a folder one
 * below the project's root.
 */
async function inspector(args: string[], token: string): Promise<unknown> {
  const env = { ...process.env, MESH_SIX_URL: srv.url, MESH_SIX_TOKEN: token };
  const { stdout } = await run(process.execPath, [INSPECTOR, "--cli", ...args], { cwd: path.join(ROOT, "mcp"), env, timeout: 30_000 });
  const answer = JSON.parse(stdout) as { tools?: { name: string; title?: string }[] };
  // A listing's schemas run to thousands of lines: the log shows each tool's name and title.
  const shown = answer.tools ? answer.tools.map((t) => `${t.name.padEnd(22)} ${t.title ?? ""}`).join("\n") : stdout;
  console.log(`$ mcp-inspector-cli --cli ${args.join(" ").replace(token, "$MESH_SIX_TOKEN")}\n${shown}`);
  return answer;
}

describe("through the MCP Inspector's CLI", () => {
  test("tools/list and tools/call over stdio: a waiting run's device code", async () => {
    const stdio = ["--", process.execPath, "--import", "tsx", path.join(ROOT, "mcp/stdio.ts")];
    const listed = (await inspector(["--method", "tools/list", ...stdio], tokens.viewer.token)) as { tools: { name: string }[] };
    assert.deepEqual(listed.tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    const { runId } = await onboard(srv, { owner: "acme", repo: "inspected", authProjectId: "proj-i" });
    await waitForStatus(srv, runId, "waiting-for-auth");
    // --tool-arg takes every word up to the next option: it goes before the others.
    const called = (await inspector(
      ["--tool-arg", `runId=${runId}`, "--method", "tools/call", "--tool-name", "get-run", ...stdio],
      tokens.viewer.token,
    )) as CallToolResult;
    assert.ok(!called.isError, text(called));
    const auth = structured(called).auth as { userCode: string; verificationUriComplete: string };
    assert.ok(text(called).includes(`open ${auth.verificationUriComplete} and enter the code ${auth.userCode}`), text(called));
  });

  test("tools/list and tools/call over Streamable HTTP with the bearer token", async () => {
    const target = [`${srv.url}/mcp`, "--transport", "http", "--header", `Authorization: Bearer ${tokens.viewer.token}`];
    const listed = (await inspector([...target, "--method", "tools/list"], tokens.viewer.token)) as { tools: { name: string }[] };
    assert.equal(listed.tools.length, TOOL_NAMES.length);
    const refused = (await inspector(
      [
        ...target,
        "--method",
        "tools/call",
        "--tool-name",
        "offboard-repo",
        "--tool-arg",
        "owner=acme",
        "repo=widgets",
        "confirm=acme/widgets",
      ],
      tokens.viewer.token,
    )) as CallToolResult;
    assert.equal(refused.isError, true);
    assert.deepEqual(structured(refused), { status: 403, error: "forbidden", required: "admin", agent: false });
  });
});
