// The GitHub emulator's REST side and its persistence, driven through @octokit/rest as the project's
// own code drives GitHub.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { graphql } from "@octokit/graphql";
import { Octokit } from "@octokit/rest";
import { startGitHubEmulator, type GitHubEmulator } from "../../emulators/github/server";

const TOKEN = "emulator-test-token";

// Response bodies are GitHub JSON whose shape each assertion spells out.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

// Octokit logs every failed request; the failures here are the point of the tests.
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Harness {
  emu: GitHubEmulator;
  octokit: Octokit;
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }>;
}

async function start(t: TestContext, stateFile?: string): Promise<Harness> {
  const emu = await startGitHubEmulator({ port: 0, token: TOKEN, stateFile });
  t.after(() => emu.close());
  const octokit = new Octokit({ auth: TOKEN, baseUrl: emu.url, log: quiet });
  const control = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${emu.url}${p}`, {
      method,
      headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { emu, octokit, control };
}

async function withRepo(t: TestContext, stateFile?: string): Promise<Harness> {
  const h = await start(t, stateFile);
  const created = await h.control("POST", "/_emulator/repos", { owner: "acme", name: "widgets", owner_type: "Organization" });
  assert.equal(created.status, 201);
  return h;
}

/** Resolves to the HTTP status an Octokit call failed with (and fails the test if it succeeded). */
async function failureOf(call: Promise<unknown>): Promise<{ status: number; data: Json }> {
  try {
    await call;
  } catch (err) {
    const e = err as { status?: number; response?: { data?: unknown } };
    assert.ok(typeof e.status === "number", `expected an HTTP error, got ${String(err)}`);
    return { status: e.status, data: e.response?.data };
  }
  assert.fail("expected the request to fail");
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

test("a request without the token, or with another one, is refused with GitHub's 401 body", async (t) => {
  const { emu } = await start(t);
  for (const headers of [{}, { authorization: "token wrong" }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
    for (const p of ["/user", "/_emulator/state", "/graphql"]) {
      const res = await fetch(`${emu.url}${p}`, { headers });
      assert.equal(res.status, 401, `${p} with ${JSON.stringify(headers)}`);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.message, "Bad credentials");
      assert.equal(body.documentation_url, "https://docs.github.com/rest");
    }
  }
  const wrong = new Octokit({ auth: "not-the-token", baseUrl: emu.url, log: quiet });
  assert.equal((await failureOf(wrong.rest.users.getAuthenticated())).status, 401);
});

test("both the token and the Bearer header forms are accepted", async (t) => {
  const { emu } = await start(t);
  for (const scheme of ["token", "Bearer", "bearer"]) {
    const res = await fetch(`${emu.url}/_emulator/state`, { headers: { authorization: `${scheme} ${TOKEN}` } });
    assert.equal(res.status, 200, scheme);
  }
});

test("GET /user is the mesh-six-bot user", async (t) => {
  const { octokit } = await start(t);
  const { data } = await octokit.rest.users.getAuthenticated();
  assert.equal(data.login, "mesh-six-bot");
  assert.equal(data.type, "User");
  assert.match(data.node_id, /^U_/);
});

test("an unknown route or repository answers GitHub's 404 body", async (t) => {
  const { octokit, control } = await start(t);
  const res = await control("GET", "/no/such/route");
  assert.equal(res.status, 404);
  assert.equal(res.body.message, "Not Found");
  assert.equal(res.body.documentation_url, "https://docs.github.com/rest");
  assert.equal((await failureOf(octokit.rest.repos.get({ owner: "acme", repo: "missing" }))).status, 404);
});

test("a repository created through the control API is served by GET /repos/{owner}/{repo}", async (t) => {
  const { octokit, control } = await start(t);
  const created = await control("POST", "/_emulator/repos", {
    owner: "acme",
    name: "widgets",
    default_branch: "trunk",
    private: true,
    owner_type: "Organization",
  });
  assert.equal(created.status, 201);
  const { data } = await octokit.rest.repos.get({ owner: "acme", repo: "widgets" });
  assert.equal(data.full_name, "acme/widgets");
  assert.equal(data.default_branch, "trunk");
  assert.equal(data.private, true);
  assert.equal(data.owner.login, "acme");
  assert.equal(data.owner.type, "Organization");
  assert.equal(data.id, created.body.id);
  assert.match(data.node_id, /^R_/);
  // Names are case-insensitive on GitHub.
  assert.equal((await octokit.rest.repos.get({ owner: "ACME", repo: "Widgets" })).data.id, data.id);
});

test("creating a repository that exists, or with an invalid name, fails validation", async (t) => {
  const { control } = await withRepo(t);
  const dup = await control("POST", "/_emulator/repos", { owner: "acme", name: "widgets" });
  assert.equal(dup.status, 422);
  assert.equal(dup.body.message, "Validation Failed");
  assert.equal(dup.body.errors[0].field, "name");
  const bad = await control("POST", "/_emulator/repos", { owner: "-acme", name: "x" });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.errors[0].field, "owner");
  const wrongType = await control("POST", "/_emulator/repos", { owner: "acme", name: "other", owner_type: "User" });
  assert.equal(wrongType.status, 422);
});

test("a webhook can be created, listed, read, updated and deleted, and its secret is never returned", async (t) => {
  const { octokit, control } = await withRepo(t);
  const secret = "s3cr3t-value-that-must-not-leak";
  const repo = { owner: "acme", repo: "widgets" };
  const created = await octokit.rest.repos.createWebhook({
    ...repo,
    name: "web",
    active: true,
    events: ["issues", "pull_request"],
    config: { url: "https://mesh-six.example/webhooks/github/acme/widgets", content_type: "json", secret, insecure_ssl: "0" },
  });
  assert.equal(created.status, 201);
  const hookId = created.data.id;
  assert.equal(created.data.config.secret, "********");
  assert.equal(created.data.config.content_type, "json");
  assert.deepEqual(created.data.events, ["issues", "pull_request"]);

  const listed = await octokit.rest.repos.listWebhooks(repo);
  assert.deepEqual(
    listed.data.map((h) => h.id),
    [hookId],
  );
  const got = await octokit.rest.repos.getWebhook({ ...repo, hook_id: hookId });
  assert.equal(got.data.config.url, "https://mesh-six.example/webhooks/github/acme/widgets");

  const patched = await octokit.rest.repos.updateWebhook({
    ...repo,
    hook_id: hookId,
    add_events: ["push"],
    remove_events: ["issues"],
    active: false,
  });
  assert.deepEqual(patched.data.events, ["pull_request", "push"]);
  assert.equal(patched.data.active, false);

  for (const body of [created.data, listed.data, got.data, patched.data]) {
    assert.ok(!JSON.stringify(body).includes(secret), "the secret leaked into a response");
  }
  const stored = await control("GET", `/_emulator/hooks/${hookId}/secret`);
  assert.deepEqual(stored.body, { secret });

  assert.equal((await octokit.rest.repos.deleteWebhook({ ...repo, hook_id: hookId })).status, 204);
  assert.equal((await failureOf(octokit.rest.repos.getWebhook({ ...repo, hook_id: hookId }))).status, 404);
  assert.deepEqual((await octokit.rest.repos.listWebhooks(repo)).data, []);
});

test("a webhook PATCH with a config replaces it whole, dropping a secret that is not re-sent, as on GitHub", async (t) => {
  const { octokit, control } = await withRepo(t);
  const repo = { owner: "acme", repo: "widgets" };
  const { data: hook } = await octokit.rest.repos.createWebhook({ ...repo, config: { url: "https://a.example/h", secret: "one" } });
  await octokit.rest.repos.updateWebhook({ ...repo, hook_id: hook.id, config: { url: "https://a.example/h", secret: "two" } });
  assert.deepEqual((await control("GET", `/_emulator/hooks/${hook.id}/secret`)).body, { secret: "two" });
  const { data } = await octokit.rest.repos.updateWebhook({ ...repo, hook_id: hook.id, config: { url: "https://b.example/h" } });
  assert.equal(data.config.url, "https://b.example/h");
  assert.equal(data.config.secret, undefined);
  assert.deepEqual((await control("GET", `/_emulator/hooks/${hook.id}/secret`)).body, { secret: null });
});

test("creating a webhook without a url fails with GitHub's 422 validation body", async (t) => {
  const { octokit } = await withRepo(t);
  const failure = await failureOf(
    octokit.request("POST /repos/{owner}/{repo}/hooks", { owner: "acme", repo: "widgets", config: { content_type: "json" } as never }),
  );
  assert.equal(failure.status, 422);
  assert.equal(failure.data.message, "Validation Failed");
  assert.equal(failure.data.documentation_url, "https://docs.github.com/rest");
  assert.deepEqual(
    failure.data.errors.map((e: { resource: string; field: string }) => [e.resource, e.field]),
    [["Hook", "url"]],
  );
});

test("a second webhook with the same url is rejected", async (t) => {
  const { octokit } = await withRepo(t);
  const args = { owner: "acme", repo: "widgets", config: { url: "https://a.example/h" } };
  await octokit.rest.repos.createWebhook(args);
  const failure = await failureOf(octokit.rest.repos.createWebhook(args));
  assert.equal(failure.status, 422);
  assert.match(failure.data.errors[0].message, /already exists/);
});

test("a file created through the contents API reads back with its content and git blob sha", async (t) => {
  const { octokit } = await withRepo(t);
  const put = await octokit.rest.repos.createOrUpdateFileContents({
    owner: "acme",
    repo: "widgets",
    path: ".devcontainer/devcontainer.json",
    message: "scaffold devcontainer",
    content: b64("hello world\n"),
  });
  assert.equal(put.status, 201);
  // `git hash-object` of "hello world\n".
  assert.equal(put.data.content?.sha, "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
  assert.equal(put.data.commit.message, "scaffold devcontainer");
  assert.match(put.data.commit.sha ?? "", /^[0-9a-f]{40}$/);

  const { data } = await octokit.rest.repos.getContent({ owner: "acme", repo: "widgets", path: ".devcontainer/devcontainer.json" });
  assert.ok(!Array.isArray(data) && data.type === "file");
  assert.equal(data.encoding, "base64");
  assert.equal(Buffer.from(data.content, "base64").toString(), "hello world\n");
  assert.equal(data.sha, "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
  assert.equal(data.path, ".devcontainer/devcontainer.json");
  assert.equal(data.name, "devcontainer.json");
  assert.equal(data.size, 12);

  const dir = await octokit.rest.repos.getContent({ owner: "acme", repo: "widgets", path: ".devcontainer" });
  assert.ok(Array.isArray(dir.data));
  assert.deepEqual(
    dir.data.map((e) => [e.type, e.name]),
    [["file", "devcontainer.json"]],
  );
  assert.equal((await failureOf(octokit.rest.repos.getContent({ owner: "acme", repo: "widgets", path: "absent.txt" }))).status, 404);
});

test("updating a file needs its current sha: 422 without one, 409 with a stale one, 200 with the right one", async (t) => {
  const { octokit } = await withRepo(t);
  const file = { owner: "acme", repo: "widgets", path: "README.md" };
  const v1 = await octokit.rest.repos.createOrUpdateFileContents({ ...file, message: "v1", content: b64("one") });
  const sha1 = v1.data.content?.sha;
  assert.ok(sha1);

  const noSha = await failureOf(octokit.rest.repos.createOrUpdateFileContents({ ...file, message: "v2", content: b64("two") }));
  assert.equal(noSha.status, 422);
  assert.match(noSha.data.message, /"sha" wasn't supplied/);

  const stale = await failureOf(
    octokit.rest.repos.createOrUpdateFileContents({ ...file, message: "v2", content: b64("two"), sha: "0".repeat(40) }),
  );
  assert.equal(stale.status, 409);
  assert.match(stale.data.message, /does not match/);

  const v2 = await octokit.rest.repos.createOrUpdateFileContents({ ...file, message: "v2", content: b64("two"), sha: sha1 });
  assert.equal(v2.status, 200);
  assert.notEqual(v2.data.content?.sha, sha1);
  assert.deepEqual(
    v2.data.commit.parents?.map((p) => p.sha),
    [v1.data.commit.sha],
  );

  const now = await octokit.rest.repos.getContent(file);
  assert.ok(!Array.isArray(now.data) && now.data.type === "file");
  assert.equal(Buffer.from(now.data.content, "base64").toString(), "two");
  // The first commit still holds the first version.
  const then = await octokit.rest.repos.getContent({ ...file, ref: v1.data.commit.sha });
  assert.ok(!Array.isArray(then.data) && then.data.type === "file");
  assert.equal(Buffer.from(then.data.content, "base64").toString(), "one");
});

test("a file is deleted with its sha and then reads as 404; a stale sha is a 409", async (t) => {
  const { octokit } = await withRepo(t);
  const file = { owner: "acme", repo: "widgets", path: "docs/a.txt" };
  const put = await octokit.rest.repos.createOrUpdateFileContents({ ...file, message: "add", content: b64("a") });
  const sha = put.data.content?.sha as string;
  assert.equal((await failureOf(octokit.rest.repos.deleteFile({ ...file, message: "rm", sha: "f".repeat(40) }))).status, 409);
  const del = await octokit.rest.repos.deleteFile({ ...file, message: "rm", sha });
  assert.equal(del.status, 200);
  assert.equal(del.data.content, null);
  assert.equal(del.data.commit.message, "rm");
  assert.equal((await failureOf(octokit.rest.repos.getContent(file))).status, 404);
  assert.equal((await failureOf(octokit.rest.repos.deleteFile({ ...file, message: "rm", sha }))).status, 404);
});

test("writing to a branch that does not exist is a 404; branches are kept apart", async (t) => {
  const { octokit } = await withRepo(t);
  const file = { owner: "acme", repo: "widgets", path: "x.txt", message: "m", content: b64("x") };
  assert.equal((await failureOf(octokit.rest.repos.createOrUpdateFileContents({ ...file, branch: "feature" }))).status, 404);
  await octokit.rest.repos.createOrUpdateFileContents({ ...file, branch: "main" });
  assert.equal(
    (await failureOf(octokit.rest.repos.getContent({ owner: "acme", repo: "widgets", path: "x.txt", ref: "nope" }))).status,
    404,
  );
});

test("a rejected request leaves the state exactly as it was", async (t) => {
  const { octokit, control } = await withRepo(t);
  await octokit.rest.repos.createWebhook({ owner: "acme", repo: "widgets", config: { url: "https://a.example/h" } });
  const before = (await control("GET", "/_emulator/state")).body;
  await failureOf(octokit.rest.repos.createWebhook({ owner: "acme", repo: "widgets", config: { url: "https://a.example/h" } }));
  await failureOf(
    octokit.rest.repos.createOrUpdateFileContents({ owner: "acme", repo: "widgets", path: "a", message: "m", content: "!!!" }),
  );
  assert.deepEqual((await control("GET", "/_emulator/state")).body, before);
});

test("reset clears every repository", async (t) => {
  const { octokit, control } = await withRepo(t);
  assert.equal((await control("POST", "/_emulator/reset")).status, 200);
  assert.equal((await failureOf(octokit.rest.repos.get({ owner: "acme", repo: "widgets" }))).status, 404);
  const state = (await control("GET", "/_emulator/state")).body;
  assert.deepEqual(state.repos, {});
  assert.deepEqual(Object.keys(state.owners), ["mesh-six-bot"]);
});

test("state is saved to the file after each change and reloaded by a new instance", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "gh-emulator-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stateFile = path.join(dir, "nested", "state.json");

  const first = await withRepo(t, stateFile);
  assert.ok(existsSync(stateFile), "the state file is written by the first change");
  const { data: hook } = await first.octokit.rest.repos.createWebhook({
    owner: "acme",
    repo: "widgets",
    config: { url: "https://a.example/h", secret: "kept" },
  });
  assert.ok(readFileSync(stateFile, "utf8").includes(`"id":${hook.id}`), "the hook is on disk as soon as it is acknowledged");
  await first.octokit.rest.repos.createOrUpdateFileContents({
    owner: "acme",
    repo: "widgets",
    path: "f.txt",
    message: "m",
    content: b64("persisted"),
  });
  const gql = graphql.defaults({ baseUrl: first.emu.url, headers: { authorization: `token ${TOKEN}` } });
  const org = await gql<{ organization: { id: string } }>(`{ organization(login: "acme") { id } }`);
  const created = await gql<{ createProjectV2: { projectV2: { id: string } } }>(
    `mutation($o: ID!) { createProjectV2(input: { ownerId: $o, title: "Board" }) { projectV2 { id } } }`,
    { o: org.organization.id },
  );
  await first.emu.close();
  assert.deepEqual(readdirSync(path.dirname(stateFile)), ["state.json"], "no temporary file is left behind");

  const second = await start(t, stateFile);
  assert.equal((await second.octokit.rest.repos.get({ owner: "acme", repo: "widgets" })).data.full_name, "acme/widgets");
  assert.deepEqual((await second.control("GET", `/_emulator/hooks/${hook.id}/secret`)).body, { secret: "kept" });
  const file = await second.octokit.rest.repos.getContent({ owner: "acme", repo: "widgets", path: "f.txt" });
  assert.ok(!Array.isArray(file.data) && file.data.type === "file");
  assert.equal(Buffer.from(file.data.content, "base64").toString(), "persisted");
  const gql2 = graphql.defaults({ baseUrl: second.emu.url, headers: { authorization: `token ${TOKEN}` } });
  const node = await gql2<{ node: { title: string } }>(`query($id: ID!) { node(id: $id) { ... on ProjectV2 { title } } }`, {
    id: created.createProjectV2.projectV2.id,
  });
  assert.equal(node.node.title, "Board");
  // Ids keep counting from where the first instance stopped.
  const { data: hook2 } = await second.octokit.rest.repos.createWebhook({
    owner: "acme",
    repo: "widgets",
    config: { url: "https://b.example/h" },
  });
  assert.ok(hook2.id > hook.id);
});

test("a state file that is not valid JSON stops the emulator from starting", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "gh-emulator-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stateFile = path.join(dir, "state.json");
  writeFileSync(stateFile, "{not json");
  await assert.rejects(startGitHubEmulator({ token: TOKEN, stateFile }), /not valid JSON/);
});
