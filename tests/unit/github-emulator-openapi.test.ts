// Every REST response the emulator gives is checked against the response schema GitHub publishes
// for that operation (@octokit/openapi), so code tested against the emulator can rely on the same
// fields it will get from github.com.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test, type TestContext } from "node:test";
import { startGitHubEmulator } from "../../emulators/github/server";

const TOKEN = "emulator-openapi-token";

interface Schema {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  format?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
}

interface Description {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }> }>>;
  components: Record<string, Record<string, unknown>>;
}

// The non-dereferenced description: a fifth of the size of the deref'd one, and $refs are cheap to follow.
const description = JSON.parse(readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.json"), "utf8")) as Description;

function resolve<T>(ref: string): T {
  const parts = ref.replace(/^#\//, "").split("/");
  let node: unknown = description;
  for (const p of parts) node = (node as Record<string, unknown>)[p];
  if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return node as T;
}

/** The JSON schema GitHub documents for `method path` answering `status`; throws if there is none. */
function responseSchema(method: string, path: string, status: number): Schema {
  const operation = description.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${path} is not an operation in GitHub's OpenAPI description`);
  let response = operation.responses[String(status)];
  if (!response) throw new Error(`${method} ${path} does not document a ${status} response`);
  if (response.$ref) response = resolve(response.$ref);
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`${method} ${path} ${status} has no application/json schema`);
  return schema;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "object":
      return typeOf(value) === "object";
    default:
      return typeOf(value) === type;
  }
}

/**
 * Lists every way `value` breaks `schema`: required properties missing, values of the wrong JSON
 * type, enum and uri/date-time violations, recursively. Extra properties are allowed, as GitHub adds
 * fields without notice. `oneOf` is checked as "matches at least one" (GitHub's schemas overlap: a
 * private user is also a valid public user), except that a discriminator, when present, picks the
 * branch.
 */
function conformanceErrors(schema: Schema, value: unknown, at = "$"): string[] {
  if (schema.$ref) return conformanceErrors(resolve<Schema>(schema.$ref), value, at);
  if (value === null) {
    const alternatives = schema.oneOf ?? schema.anyOf;
    if (schema.nullable || alternatives?.some((s) => (s.$ref ? resolve<Schema>(s.$ref) : s).nullable)) return [];
    return [`${at}: null where the schema does not allow it`];
  }
  const errors: string[] = [];
  for (const part of schema.allOf ?? []) errors.push(...conformanceErrors(part, value, at));
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    const tag =
      schema.discriminator && typeOf(value) === "object"
        ? (value as Record<string, unknown>)[schema.discriminator.propertyName]
        : undefined;
    const mapped = typeof tag === "string" ? schema.discriminator?.mapping?.[tag] : undefined;
    if (mapped) {
      errors.push(...conformanceErrors({ $ref: mapped }, value, at));
    } else {
      const results = alternatives.map((s) => conformanceErrors(s, value, at));
      if (!results.some((r) => r.length === 0)) {
        errors.push(`${at}: matches none of ${alternatives.length} alternatives (${results.map((r) => r[0]).join("; ")})`);
      }
    }
  }
  if (schema.type && !hasType(value, schema.type)) return [...errors, `${at}: expected ${schema.type}, got ${typeOf(value)}`];
  if (schema.enum && !schema.enum.includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === "string" && schema.format === "uri" && !URL.canParse(value)) errors.push(`${at}: ${value} is not a URI`);
  if (typeof value === "string" && schema.format === "date-time" && Number.isNaN(Date.parse(value))) {
    errors.push(`${at}: ${value} is not a date-time`);
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) errors.push(`${at}.${key}: required but missing`);
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if (key in obj) errors.push(...conformanceErrors(sub, obj[key], `${at}.${key}`));
    }
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((item, i) => errors.push(...conformanceErrors(schema.items as Schema, item, `${at}[${i}]`)));
  return errors;
}

function assertConforms(method: string, path: string, status: number, body: unknown): void {
  const errors = conformanceErrors(responseSchema(method, path, status), body);
  assert.deepEqual(errors, [], `${method} ${path} ${status} does not match GitHub's schema:\n${errors.join("\n")}`);
}

async function start(t: TestContext) {
  const emu = await startGitHubEmulator({ port: 0, token: TOKEN });
  t.after(() => emu.close());
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${emu.url}${p}`, {
      method,
      headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  return { call };
}

/** Calls the emulator and checks the answer against the operation's documented response. */
async function conforms(
  call: (m: string, p: string, b?: unknown) => Promise<{ status: number; body: unknown }>,
  /** `template` is the operation's path in GitHub's description, `path` the one called; `status` is the one expected. */
  { method, template, path, status, body }: { method: string; template: string; path: string; status: number; body?: unknown },
): Promise<Record<string, unknown>> {
  const res = await call(method, path, body);
  assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
  assertConforms(method, template, res.status, res.body);
  return res.body as Record<string, unknown>;
}

test("the checker rejects a response missing a required field or carrying a wrong type", () => {
  const hook = {
    type: "Repository",
    id: 1,
    name: "web",
    active: true,
    events: ["push"],
    config: { url: "https://a.example/h" },
    updated_at: "2024-01-01T00:00:00Z",
    created_at: "2024-01-01T00:00:00Z",
    url: "https://api.github.com/repos/a/b/hooks/1",
    test_url: "https://api.github.com/repos/a/b/hooks/1/test",
    ping_url: "https://api.github.com/repos/a/b/hooks/1/pings",
    last_response: { code: null, status: "unused", message: null },
  };
  const schema = responseSchema("GET", "/repos/{owner}/{repo}/hooks/{hook_id}", 200);
  assert.deepEqual(conformanceErrors(schema, hook), []);
  const { last_response: _dropped, ...missing } = hook;
  assert.deepEqual(conformanceErrors(schema, missing), ["$.last_response: required but missing"]);
  assert.deepEqual(conformanceErrors(schema, { ...hook, id: "1" }), ["$.id: expected integer, got string"]);
  assert.deepEqual(conformanceErrors(schema, { ...hook, last_response: { ...hook.last_response, code: undefined } }).length, 1);
  assert.deepEqual(conformanceErrors(schema, { ...hook, events: [1] }), ["$.events[0]: expected string, got number"]);
});

test("the checker refuses an operation GitHub's description does not have", () => {
  assert.throws(() => responseSchema("GET", "/repos/{owner}/{repo}/no-such-thing", 200), /not an operation/);
  assert.throws(() => responseSchema("POST", "/user", 200), /not an operation/);
  assert.throws(() => responseSchema("GET", "/user", 418), /does not document a 418/);
});

test("GET /user conforms to GitHub's schema", async (t) => {
  const { call } = await start(t);
  await conforms(call, { method: "GET", template: "/user", path: "/user", status: 200 });
});

test("the repository JSON (control API and GET /repos/{owner}/{repo}) conforms to full-repository", async (t) => {
  const { call } = await start(t);
  const created = await call("POST", "/_emulator/repos", { owner: "acme", name: "widgets", owner_type: "Organization" });
  assertConforms("GET", "/repos/{owner}/{repo}", 200, created.body);
  // The same real response, with one required field removed or mistyped, must be caught.
  const { clone_url: _dropped, ...broken } = created.body as Record<string, unknown>;
  const schema = responseSchema("GET", "/repos/{owner}/{repo}", 200);
  assert.deepEqual(conformanceErrors(schema, broken), ["$.clone_url: required but missing"]);
  const badOwner = { ...(created.body as Record<string, unknown>), owner: { login: "acme" } };
  assert.ok(conformanceErrors(schema, badOwner).includes("$.owner.id: required but missing"));
  await call("POST", "/_emulator/repos", { owner: "someone", name: "thing", private: true });
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}", path: "/repos/acme/widgets", status: 200 });
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}", path: "/repos/someone/thing", status: 200 });
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}", path: "/repos/acme/absent", status: 404 });
});

test("webhook responses conform to GitHub's schema", async (t) => {
  const { call } = await start(t);
  await call("POST", "/_emulator/repos", { owner: "acme", name: "widgets" });
  const hooks = "/repos/acme/widgets/hooks";
  const hook = await conforms(call, {
    method: "POST",
    template: "/repos/{owner}/{repo}/hooks",
    path: hooks,
    status: 201,
    body: {
      name: "web",
      events: ["push"],
      config: { url: "https://a.example/h", content_type: "json", secret: "x", insecure_ssl: 0 },
    },
  });
  await conforms(call, {
    method: "POST",
    template: "/repos/{owner}/{repo}/hooks",
    path: hooks,
    status: 201,
    body: { config: { url: "https://b.example/h" } },
  });
  await conforms(call, { method: "POST", template: "/repos/{owner}/{repo}/hooks", path: hooks, status: 422, body: { config: {} } });
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}/hooks", path: hooks, status: 200 });
  const one = `${hooks}/${String(hook.id)}`;
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}/hooks/{hook_id}", path: one, status: 200 });
  await conforms(call, {
    method: "PATCH",
    template: "/repos/{owner}/{repo}/hooks/{hook_id}",
    path: one,
    status: 200,
    body: { add_events: ["issues"], active: false },
  });
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}/hooks/{hook_id}/config", path: `${one}/config`, status: 200 });
  await conforms(call, {
    method: "PATCH",
    template: "/repos/{owner}/{repo}/hooks/{hook_id}/config",
    path: `${one}/config`,
    status: 200,
    body: { content_type: "form" },
  });
  assert.equal((await call("DELETE", one)).status, 204);
  await conforms(call, { method: "GET", template: "/repos/{owner}/{repo}/hooks/{hook_id}", path: one, status: 404 });
});

test("contents responses conform to GitHub's schema", async (t) => {
  const { call } = await start(t);
  await call("POST", "/_emulator/repos", { owner: "acme", name: "widgets" });
  const tpl = "/repos/{owner}/{repo}/contents/{path}";
  const file = "/repos/acme/widgets/contents/dir/a.txt";
  const content = Buffer.from("a").toString("base64");
  const created = await conforms(call, { method: "PUT", template: tpl, path: file, status: 201, body: { message: "add", content } });
  const sha = (created.content as { sha: string }).sha;
  await conforms(call, { method: "GET", template: tpl, path: file, status: 200 });
  await conforms(call, { method: "GET", template: tpl, path: "/repos/acme/widgets/contents/dir", status: 200 });
  const updated = await conforms(call, {
    method: "PUT",
    template: tpl,
    path: file,
    status: 200,
    body: { message: "edit", content: Buffer.from("b").toString("base64"), sha },
  });
  await conforms(call, { method: "PUT", template: tpl, path: file, status: 409, body: { message: "edit", content, sha } });
  await conforms(call, { method: "PUT", template: tpl, path: file, status: 422, body: { message: "edit", content } });
  await conforms(call, {
    method: "DELETE",
    template: tpl,
    path: file,
    status: 200,
    body: { message: "rm", sha: (updated.content as { sha: string }).sha },
  });
  await conforms(call, { method: "GET", template: tpl, path: file, status: 404 });
});

/** A call with a token of the test's choosing, with the answer's headers. */
async function callAs(url: string, token: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // A 502 is GitHub's HTML error page, as it is on github.com.
  const json = text && res.headers.get("content-type")?.startsWith("application/json");
  return { status: res.status, headers: res.headers, body: json ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

test("what an onboarding checks first conforms: archived, the token's scopes and permissions, the default branch", async (t) => {
  const emu = await startGitHubEmulator({ port: 0, token: TOKEN });
  t.after(() => emu.close());
  const as = (token: string, method: string, p: string, body?: unknown) => callAs(emu.url, token, method, p, body);
  assert.equal(
    (await as(TOKEN, "POST", "/_emulator/repos", { owner: "acme", name: "widgets", archived: true, auto_init: true })).status,
    201,
  );
  assert.equal((await as(TOKEN, "POST", "/_emulator/repos", { owner: "acme", name: "empty" })).status, 201);
  const fineGrained = "fine-grained-token";
  assert.equal(
    (await as(TOKEN, "POST", "/_emulator/tokens", { token: fineGrained, scopes: null, permissions: { admin: false } })).status,
    201,
  );
  const classic = "classic-hooks-only";
  assert.equal((await as(TOKEN, "POST", "/_emulator/tokens", { token: classic, scopes: ["admin:repo_hook"] })).status, 201);

  const mine = await as(TOKEN, "GET", "/repos/acme/widgets");
  assertConforms("GET", "/repos/{owner}/{repo}", 200, mine.body);
  assert.equal(mine.body.archived, true);
  assert.equal(mine.headers.get("x-oauth-scopes"), "admin:repo_hook, project, repo");
  assert.equal(mine.body.default_branch, "main");
  const theirs = await as(fineGrained, "GET", "/repos/acme/widgets");
  assertConforms("GET", "/repos/{owner}/{repo}", 200, theirs.body);
  assert.equal(theirs.headers.get("x-oauth-scopes"), null, "a fine-grained token has no OAuth scopes");
  assert.deepEqual(theirs.body.permissions, { admin: false, maintain: true, push: true, triage: true, pull: true });
  assert.equal((await as(classic, "GET", "/repos/acme/widgets")).headers.get("x-oauth-scopes"), "admin:repo_hook");
  assert.equal((await as("not-a-token-at-all", "GET", "/repos/acme/widgets")).status, 401);

  const branch = await as(TOKEN, "GET", "/repos/acme/widgets/branches/main");
  assert.equal(branch.status, 200);
  assertConforms("GET", "/repos/{owner}/{repo}/branches/{branch}", 200, branch.body);
  assert.equal(branch.body.name, "main");
  const none = await as(TOKEN, "GET", "/repos/acme/empty/branches/main");
  assert.equal(none.status, 404);
  assertConforms("GET", "/repos/{owner}/{repo}/branches/{branch}", 404, none.body);
  assert.equal(none.body.message, "Branch not found");

  const write = await as(TOKEN, "POST", "/repos/acme/widgets/hooks", { config: { url: "https://b.example/h" } });
  assert.equal(write.status, 403);
  assertConforms("POST", "/repos/{owner}/{repo}/hooks", 403, write.body);
  assert.equal(write.body.message, "Repository was archived so is read-only.");
});

test("faults are answered as GitHub answers them, only to the token or owner they are for, until cleared", async (t) => {
  const emu = await startGitHubEmulator({ port: 0, token: TOKEN });
  t.after(() => emu.close());
  const as = (token: string, method: string, p: string, body?: unknown) => callAs(emu.url, token, method, p, body);
  await as(TOKEN, "POST", "/_emulator/repos", { owner: "acme", name: "widgets" });
  const victim = "victim-token-1";
  await as(TOKEN, "POST", "/_emulator/tokens", { token: victim });
  assert.equal(
    (await as(TOKEN, "POST", "/_emulator/faults", { kind: "rate-limit", count: 1 })).status,
    422,
    "an unscoped fault is refused",
  );

  const before = Math.floor(Date.now() / 1000);
  assert.equal(
    (await as(TOKEN, "POST", "/_emulator/faults", { kind: "rate-limit", count: 1, waitSeconds: 30, token: victim })).status,
    201,
  );
  assert.equal((await as(TOKEN, "GET", "/repos/acme/widgets")).status, 200, "another token is unaffected");
  const primary = await as(victim, "GET", "/repos/acme/widgets");
  assert.equal(primary.status, 403);
  assertConforms("GET", "/repos/{owner}/{repo}", 403, primary.body);
  assert.match(String(primary.body.message), /^API rate limit exceeded/);
  assert.equal(primary.headers.get("x-ratelimit-remaining"), "0");
  assert.ok(Number(primary.headers.get("x-ratelimit-reset")) >= before + 30);
  assert.equal((await as(victim, "GET", "/repos/acme/widgets")).status, 200, "served once, as asked");

  await as(TOKEN, "POST", "/_emulator/faults", { kind: "secondary-rate-limit", status: 429, count: 1, waitSeconds: 7, owner: "ACME" });
  const secondary = await as(victim, "GET", "/repos/acme/widgets/hooks");
  assert.equal(secondary.status, 429);
  assert.equal(secondary.headers.get("retry-after"), "7");
  assert.match(String(secondary.body.message), /secondary rate limit/);

  await as(TOKEN, "POST", "/_emulator/faults", { kind: "rate-limit", count: 1, token: victim });
  const graphql = await as(victim, "POST", "/graphql", { query: "{ viewer { login } }" });
  assert.equal(graphql.status, 200, "GraphQL reports its primary limit in the body");
  assert.equal((graphql.body.errors as { type: string }[])[0].type, "RATE_LIMITED");
  assert.equal(graphql.headers.get("x-ratelimit-resource"), "graphql");

  await as(TOKEN, "POST", "/_emulator/faults", { kind: "server-error", count: 5, token: victim });
  const unicorn = await as(victim, "GET", "/repos/acme/widgets");
  assert.equal(unicorn.status, 502);
  assert.match(String(unicorn.body.text), /Server Error/);
  const listed = (await as(TOKEN, "GET", "/_emulator/faults")).body as unknown as { kind: string; served: number; remaining: number }[];
  assert.deepEqual(
    listed.map((f) => [f.kind, f.served, f.remaining]),
    [
      ["rate-limit", 1, 0],
      ["secondary-rate-limit", 1, 0],
      ["rate-limit", 1, 0],
      ["server-error", 1, 4],
    ],
  );
  assert.ok(!JSON.stringify(listed).includes(victim), "faults keep a digest of their token, not the token");
  assert.deepEqual((await as(TOKEN, "DELETE", "/_emulator/faults", { owner: "acme" })).body, { cleared: 1 });
  assert.deepEqual((await as(TOKEN, "DELETE", "/_emulator/faults", { token: victim })).body, { cleared: 3 });
  assert.equal((await as(victim, "GET", "/repos/acme/widgets")).status, 200);
});
