import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";
import { registerAgent } from "../../testkit/agents";
import { startTestServer, type TestServer, waitFor } from "../../testkit/server";
import { issueToken } from "../../testkit/tokens";

interface AuditEntry {
  id: string;
  at: string;
  actor: { id: string; name: string; role: string };
  method: string;
  route: string | null;
  target: string | null;
  status: number;
}

async function audit(srv: TestServer, query = ""): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const res = await srv.request(`/v1/audit${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { entries: AuditEntry[]; nextCursor: string | null };
}

/** Audit entries are written once the answer is sent: wait until `n` are there. */
async function auditOf(srv: TestServer, n: number, query = ""): Promise<AuditEntry[]> {
  return waitFor(async () => {
    const { entries } = await audit(srv, query);
    return entries.length >= n ? entries : undefined;
  }, `${n} audit entries`);
}

test("a token is shown once, stored only as its SHA-256, listed without it, and refused with 401 once revoked", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const created = await srv.request("/v1/tokens", { method: "POST", json: { name: "ci-reader", role: "viewer" } });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("cache-control"), "no-store");
    const body = (await created.json()) as { id: string; token: string; role: string; createdBy: string };
    assert.match(body.token, /^m6_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([body.role, body.createdBy], ["viewer", "config:1"]);
    assert.equal((await srv.request("/v1/repos", { token: body.token })).status, 200);

    const stored = await srv.db.pool.query("SELECT to_jsonb(t)::text AS row, token_hash FROM api_tokens t");
    assert.equal(stored.rows.length, 1);
    assert.ok(!stored.rows[0].row.includes(body.token), "the token's text is not stored");
    assert.deepEqual(stored.rows[0].token_hash, createHash("sha256").update(body.token).digest());

    const listing = await (await srv.request("/v1/tokens")).text();
    assert.ok(!listing.includes(body.token), "the listing never holds a token");
    const listed = (JSON.parse(listing) as { tokens: Record<string, unknown>[] }).tokens;
    assert.deepEqual(
      listed.map((t) => [t.id, t.name, t.role, t.revokedAt, "token" in t]),
      [[body.id, "ci-reader", "viewer", null, false]],
    );

    assert.equal((await srv.request(`/v1/tokens/${body.id}`, { method: "DELETE" })).status, 204);
    const refused = await srv.request("/v1/repos", { token: body.token });
    assert.deepEqual([refused.status, await refused.json()], [401, { error: "unauthenticated" }]);
    const revokedAt = ((await (await srv.request("/v1/tokens")).json()) as { tokens: { revokedAt: string }[] }).tokens[0].revokedAt;
    assert.ok(revokedAt);
    assert.equal((await srv.request(`/v1/tokens/${body.id}`, { method: "DELETE" })).status, 204, "revoking again changes nothing");
    const again = ((await (await srv.request("/v1/tokens")).json()) as { tokens: { revokedAt: string }[] }).tokens[0].revokedAt;
    assert.equal(again, revokedAt);
    const unknown = await srv.request(`/v1/tokens/${randomUUID()}`, { method: "DELETE" });
    assert.deepEqual([unknown.status, await unknown.json()], [404, { error: "token_not_found" }]);
  } finally {
    await srv.close();
  }
});

test("an agent token needs a registered agent, and only an agent token takes one", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const agentId = await registerAgent(srv, "a", "http://127.0.0.1:1/tasks", { implement: 1 });
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "x", role: "agent" }, "required with the agent role"],
      [{ name: "x", role: "viewer", agentId }, "only with the agent role"],
      [{ name: "x", role: "agent", agentId: randomUUID() }, "no such agent"],
    ];
    for (const [json, message] of cases) {
      const res = await srv.request("/v1/tokens", { method: "POST", json });
      assert.deepEqual([res.status, await res.json()], [400, { error: "invalid_request", issues: [{ field: "agentId", message }] }]);
    }
    const agent = await issueToken(srv, { name: "a", role: "agent", agentId });
    assert.equal((await srv.request(`/v1/agents/${agentId}/heartbeat`, { method: "POST", token: agent.token })).status, 204);
  } finally {
    await srv.close();
  }
});

test("every mutating request of a known token is audited, without its body; reads, unknown tokens and webhooks are not", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const operator = await issueToken(srv, { name: "deployer", role: "operator" });
    const viewer = await issueToken(srv, { name: "reader", role: "viewer" });
    const onboarded = await srv.request("/v1/onboardings", {
      method: "POST",
      token: operator.token,
      json: { owner: "acme", repo: "widgets" },
    });
    assert.equal(onboarded.status, 202);
    const { runId } = (await onboarded.json()) as { runId: string };
    assert.equal(
      (await srv.request("/v1/onboardings", { method: "POST", token: viewer.token, json: { owner: "acme", repo: "w" } })).status,
      403,
    );
    // The auth push carries OAuth credentials: they must not reach the audit log.
    const pushed = await srv.request(`/v1/runs/${runId}/auth`, {
      method: "POST",
      token: operator.token,
      json: { access_token: "gho_secret-oauth-credential", token_type: "Bearer" },
    });
    assert.equal(pushed.status, 409, "the run is queued, not waiting for auth");
    // Not recorded: a read, a token not known here, a webhook (authenticated by its signature, kept in webhook_deliveries).
    assert.equal((await srv.request("/v1/repos", { token: operator.token })).status, 200);
    assert.equal((await srv.request("/v1/onboardings", { method: "POST", token: "m6_unknown", json: {} })).status, 401);
    assert.equal((await srv.request("/webhooks/github/acme/widgets", { method: "POST", token: null })).status, 503);

    // Two token creations by the configured admin, then the three requests above.
    const entries = await auditOf(srv, 5);
    assert.equal(entries.length, 5);
    const seen = entries.map((e) => [e.actor.id, e.actor.name, e.actor.role, e.method, e.route, e.target, e.status]);
    assert.deepEqual(seen, [
      [operator.id, "deployer", "operator", "POST", "/v1/runs/:id/auth", runId, 409],
      [viewer.id, "reader", "viewer", "POST", "/v1/onboardings", null, 403],
      [operator.id, "deployer", "operator", "POST", "/v1/onboardings", `acme/widgets run ${runId}`, 202],
      ["config:1", "MESH_SIX_API_TOKENS #1", "admin", "POST", "/v1/tokens", viewer.id, 201],
      ["config:1", "MESH_SIX_API_TOKENS #1", "admin", "POST", "/v1/tokens", operator.id, 201],
    ]);
    const table = (await srv.db.pool.query("SELECT coalesce(string_agg(to_jsonb(a)::text, ' '), '') AS t FROM audit_log a")).rows[0]
      .t as string;
    for (const secret of ["gho_secret-oauth-credential", operator.token, viewer.token])
      assert.ok(!table.includes(secret), "no secret in the audit log");
  } finally {
    await srv.close();
  }
});

test("the audit trail filters by actor, route and time, and pages newest first with a cursor", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const first = await issueToken(srv, { name: "one", role: "operator" });
    await auditOf(srv, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date();
    for (let i = 0; i < 4; i++) {
      assert.equal((await srv.request(`/v1/runs/${randomUUID()}/cancel`, { method: "POST", token: first.token })).status, 404);
    }
    const all = await auditOf(srv, 5);
    // Newest first by when the requests arrived (their entries are written after the answers, in either order).
    assert.deepEqual(
      all.map((e) => Date.parse(e.at)),
      all.map((e) => Date.parse(e.at)).sort((a, b) => b - a),
      "newest first",
    );
    assert.deepEqual((await audit(srv, "?actor=one")).entries, all.slice(0, 4), "by name");
    assert.deepEqual((await audit(srv, `?actor=${first.id}`)).entries, all.slice(0, 4), "by token id");
    assert.deepEqual((await audit(srv, "?route=/v1/tokens")).entries, all.slice(4));
    assert.deepEqual((await audit(srv, `?until=${between.toISOString()}`)).entries, all.slice(4));
    assert.deepEqual((await audit(srv, `?since=${new Date(Date.now() + 60_000).toISOString()}`)).entries, []);

    const pages: AuditEntry[][] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page = await audit(srv, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      pages.push(page.entries);
      cursor = page.nextCursor;
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.deepEqual(pages.flat(), all);

    for (const bad of ["?limit=0", "?cursor=abc", "?since=yesterday", "?who=me"]) {
      const res = await srv.request(`/v1/audit${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
    }
  } finally {
    await srv.close();
  }
});
