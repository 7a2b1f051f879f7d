import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { type GitHubEmulator, startGitHubEmulator } from "../../emulators/github/server";
import { GitHubApiError, githubGraphql, githubRest } from "../../providers/github-api";

// The client the dynamic providers use, against the emulator serving each fault GitHub can answer with.

const ADMIN = "client-test-admin-token";
const TOKEN = "client-test-token-of-the-calls";
let emu: GitHubEmulator;
const saved = { ...process.env };

async function control(method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${emu.url}${p}`, {
    method,
    headers: { authorization: `token ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${p}: HTTP ${res.status}`);
  return res.json();
}

const fault = (spec: Record<string, unknown>) => control("POST", "/_emulator/faults", { token: TOKEN, ...spec });
const served = async () => ((await control("GET", "/_emulator/faults")) as { served: number }[]).reduce((n, f) => n + f.served, 0);

before(async () => {
  emu = await startGitHubEmulator({ port: 0, token: ADMIN });
  await control("POST", "/_emulator/repos", { owner: "acme", name: "widgets", auto_init: true });
  await control("POST", "/_emulator/tokens", { token: TOKEN });
  Object.assign(process.env, {
    GITHUB_API_URL: emu.url,
    GITHUB_TOKEN: TOKEN,
    GITHUB_GRAPHQL_URL: "",
    MESH_SIX_GITHUB_RETRY_BASE_MS: "20",
    MESH_SIX_GITHUB_MAX_WAIT_S: "5",
  });
});

beforeEach(() => control("DELETE", "/_emulator/faults", { token: TOKEN }));

after(async () => {
  process.env = saved;
  await emu?.close();
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await work();
  return { value, ms: Date.now() - start };
}

test("a primary rate limit (403, x-ratelimit-remaining 0) is waited out until x-ratelimit-reset, then the call succeeds", async () => {
  await fault({ kind: "rate-limit", count: 1, waitSeconds: 1 });
  const { value, ms } = await timed(() => githubRest<{ full_name: string }>("GET", "/repos/acme/widgets"));
  assert.equal(value?.full_name, "acme/widgets");
  assert.ok(ms >= 1000, `waited ${ms} ms for the reset`);
  assert.equal(await served(), 1);
});

for (const status of [403, 429]) {
  test(`a secondary rate limit (${status} with retry-after) is waited out for retry-after, then the call succeeds`, async () => {
    await fault({ kind: "secondary-rate-limit", status, count: 1, waitSeconds: 1 });
    const { value, ms } = await timed(() => githubRest<unknown[]>("GET", "/repos/acme/widgets/hooks"));
    assert.deepEqual(value, []);
    assert.ok(ms >= 1000, `waited ${ms} ms for retry-after`);
    assert.equal(await served(), 1);
  });
}

test("GraphQL's primary limit (RATE_LIMITED in a 200) is waited out too", async () => {
  await fault({ kind: "rate-limit", count: 1, waitSeconds: 0 });
  const data = await githubGraphql<{ viewer: { login: string } }>("viewer", "query { viewer { login } }", {});
  assert.equal(data.viewer.login, "mesh-six-bot");
  assert.equal(await served(), 1);
});

test("502s are retried with backoff; a write goes through once", async () => {
  await fault({ kind: "server-error", count: 2 });
  const hook = await githubRest<{ id: number }>("POST", "/repos/acme/widgets/hooks", { config: { url: "https://h.example/x" } });
  assert.ok(hook?.id);
  assert.equal(await served(), 2);
  const hooks = await githubRest<{ id: number }[]>("GET", "/repos/acme/widgets/hooks");
  assert.deepEqual(
    hooks?.map((h) => h.id),
    [hook.id],
  );
});

test("GitHub down for longer than the retries fails with the call named (method and path), never the token", async () => {
  await fault({ kind: "server-error", count: 50 });
  const err = await githubRest("GET", "/repos/acme/widgets").then(
    () => assert.fail("the call succeeded"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GitHubApiError);
  assert.equal(err.status, 502);
  assert.equal(err.message, "GitHub GET /repos/acme/widgets failed: HTTP 502 Server Error Sorry, this page is taking too long to load.");
  assert.ok(!err.message.includes(TOKEN));
  assert.equal(await served(), 4, "the first try and three retries");
});

test("a rate limit that resets later than the bound is not waited for: the call fails at once, naming it", async () => {
  await fault({ kind: "rate-limit", count: 1, waitSeconds: 600 });
  const { value: err, ms } = await timed(() => githubRest("GET", "/repos/acme/widgets").catch((e: unknown) => e));
  assert.ok(err instanceof GitHubApiError);
  assert.equal(err.status, 403);
  assert.match(err.message, /^GitHub GET \/repos\/acme\/widgets failed: HTTP 403 API rate limit exceeded/);
  assert.ok(ms < 3000, `failed after ${ms} ms`);
});

test("a 4xx names the call without the token; a 404 can be asked for as undefined", async () => {
  const err = await githubRest("GET", "/repos/acme/widgets/hooks/999").catch((e: unknown) => e);
  assert.ok(err instanceof GitHubApiError);
  assert.equal(err.message, "GitHub GET /repos/acme/widgets/hooks/999 failed: HTTP 404 Not Found");
  assert.equal(await githubRest("GET", "/repos/acme/widgets/hooks/999", undefined, { allowNotFound: true }), undefined);
  const gql = await githubGraphql("project", 'query { repository(owner: "acme", name: "nope") { id } }', {}).catch((e: unknown) => e);
  assert.ok(gql instanceof GitHubApiError);
  assert.deepEqual(gql.graphqlTypes, ["NOT_FOUND"]);
  assert.ok(!gql.message.includes(TOKEN));
});

test("writes of one process keep MESH_SIX_GITHUB_WRITE_INTERVAL_MS apart, across clients; reads are not held", async () => {
  process.env.MESH_SIX_GITHUB_WRITE_INTERVAL_MS = "400";
  try {
    const writes = await timed(() =>
      Promise.all([1, 2, 3].map((n) => githubRest("POST", "/repos/acme/widgets/hooks", { config: { url: `https://h.example/${n}` } }))),
    );
    assert.ok(writes.ms >= 800, `three writes took ${writes.ms} ms, less than two intervals`);
    const reads = await timed(() => Promise.all([1, 2, 3].map(() => githubRest("GET", "/repos/acme/widgets"))));
    assert.ok(reads.ms < writes.ms, `three reads (${reads.ms} ms) were spaced like writes (${writes.ms} ms)`);
  } finally {
    delete process.env.MESH_SIX_GITHUB_WRITE_INTERVAL_MS;
  }
});
