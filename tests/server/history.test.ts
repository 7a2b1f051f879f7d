import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { registerAgent, registerRepo } from "../../testkit/agents";
import { onboard, startTestServer, type TestServer } from "../../testkit/server";

/**
 * The history lists: runs, tasks and webhook deliveries, over every repo and per repo, a page at a time, newest
 * first by (time, id). Rows are inserted with equal times on purpose: a cursor of the time alone would repeat or
 * skip them.
 */

interface RunItem {
  id: string;
  kind: string;
  status: string;
  owner: string;
  repo: string;
  createdAt: string;
}

async function json<T>(srv: TestServer, path: string, status = 200): Promise<T> {
  const res = await srv.request(path);
  const text = await res.text();
  assert.equal(res.status, status, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

/** Follows nextCursor from `path` to the last page; every page's length is kept to compare. */
async function walk<T>(srv: TestServer, path: string, key: string): Promise<{ pages: number[]; items: T[]; cursors: (string | null)[] }> {
  const pages: number[] = [];
  const items: T[] = [];
  const cursors: (string | null)[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const body: Record<string, unknown> = await json(srv, cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    const page = body[key] as T[];
    pages.push(page.length);
    items.push(...page);
    cursor = body.nextCursor as string | null;
    cursors.push(cursor);
    assert.ok(pages.length < 50, "the walk ends");
  } while (cursor !== null);
  return { pages, items, cursors };
}

/** `n` runs of one repo, all with the same created_at. */
async function insertRuns(srv: TestServer, owner: string, repo: string, n: number, at: string, kind = "onboard", status = "succeeded") {
  await srv.db.pool.query(
    `INSERT INTO runs (kind, owner, repo, stack_name, request, status, created_at)
     SELECT $1, $2::text, $3::text, lower($2::text || '.' || $3::text), jsonb_build_object('owner', $2::text, 'repo', $3::text), $5, $6::timestamptz
     FROM generate_series(1, $4::int)`,
    [kind, owner, repo, n, status, at],
  );
}

/** The order the lists promise, computed by the database. */
async function expectedRunIds(srv: TestServer, where = "true"): Promise<string[]> {
  const { rows } = await srv.db.pool.query<{ id: string }>(`SELECT id FROM runs WHERE ${where} ORDER BY created_at DESC, id DESC`);
  return rows.map((r) => r.id);
}

describe("run history", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ startQueue: false });
    await insertRuns(srv, "acme", "widgets", 5, "2026-01-01T10:00:00.123456Z");
    await insertRuns(srv, "acme", "gadgets", 2, "2026-01-01T10:00:00.123456Z", "refresh", "failed");
    await insertRuns(srv, "acme", "gadgets", 1, "2026-01-01T09:00:00Z");
    await insertRuns(srv, "acme", "widgets", 1, "2026-01-02T00:00:00Z", "drift-check", "succeeded");
  });
  after(() => srv.close());

  test("pages walk every run once, newest first, equal times included, to a null nextCursor", async () => {
    const { pages, items, cursors } = await walk<RunItem>(srv, "/v1/runs?limit=3", "runs");
    assert.deepEqual(pages, [3, 3, 3]);
    assert.deepEqual(
      items.map((r) => r.id),
      await expectedRunIds(srv),
    );
    assert.equal(cursors.at(-1), null);
    assert.ok(
      cursors.slice(0, -1).every((c) => typeof c === "string" && !c.includes("2026")),
      "the cursor is opaque",
    );
    const times = items.map((r) => Date.parse(r.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    // The default page holds them all.
    const all = await json<{ runs: RunItem[]; nextCursor: string | null }>(srv, "/v1/runs");
    assert.equal(all.runs.length, 9);
    assert.equal(all.nextCursor, null);
  });

  test("a repo's list holds its runs only, and pages the same way", async () => {
    const { pages, items } = await walk<RunItem>(srv, "/v1/repos/acme/widgets/runs?limit=2", "runs");
    assert.deepEqual(pages, [2, 2, 2]);
    assert.deepEqual(
      items.map((r) => r.id),
      await expectedRunIds(srv, "stack_name = 'acme.widgets'"),
    );
    assert.ok(items.every((r) => r.repo === "widgets"));
    const gadgets = await json<{ runs: RunItem[] }>(srv, "/v1/repos/Acme/Gadgets/runs");
    assert.deepEqual(
      gadgets.runs.map((r) => r.repo),
      ["gadgets", "gadgets", "gadgets"],
    );
  });

  test("kind, status, since and until filter the list", async () => {
    const byKind = await json<{ runs: RunItem[] }>(srv, "/v1/runs?kind=refresh");
    assert.deepEqual(
      byKind.runs.map((r) => [r.kind, r.repo]),
      [
        ["refresh", "gadgets"],
        ["refresh", "gadgets"],
      ],
    );
    const byStatus = await json<{ runs: RunItem[] }>(srv, "/v1/repos/acme/gadgets/runs?status=succeeded");
    assert.deepEqual(
      byStatus.runs.map((r) => r.createdAt),
      ["2026-01-01T09:00:00.000Z"],
    );
    const since = await json<{ runs: RunItem[] }>(srv, "/v1/runs?since=2026-01-01T10:00:00.123456Z");
    assert.equal(since.runs.length, 8, "since is inclusive, to the microsecond");
    const later = await json<{ runs: RunItem[] }>(srv, "/v1/runs?since=2026-01-01T10:00:00.123457Z");
    assert.equal(later.runs.length, 1, "a microsecond later leaves the equal-time runs out");
    const until = await json<{ runs: RunItem[] }>(srv, "/v1/runs?until=2026-01-01T10:00:00.123456Z");
    assert.deepEqual(
      until.runs.map((r) => r.createdAt),
      ["2026-01-01T09:00:00.000Z"],
      "until is exclusive",
    );
    const window = await json<{ runs: RunItem[] }>(
      srv,
      "/v1/runs?since=2026-01-01T10:00:00%2B00:00&until=2026-01-01T23:00:00Z&kind=onboard",
    );
    assert.equal(window.runs.length, 5);
    // Filters and pages together: the cursor carries the position, the query the filter.
    const walked = await walk<RunItem>(srv, "/v1/runs?kind=onboard&limit=2", "runs");
    assert.deepEqual(walked.pages, [2, 2, 2], "a last page that is full still ends the walk");
    assert.ok(walked.items.every((r) => r.kind === "onboard"));
  });

  test("bad query values are a 400 naming the field; an unknown repo is a 404", async () => {
    const audit = await json<{ nextCursor: string | null }>(srv, "/v1/audit?limit=1");
    const cases: [string, string, string][] = [
      ["?kind=bogus", "kind", ""],
      ["?status=done", "status", ""],
      ["?limit=0", "limit", ""],
      ["?limit=501", "limit", ""],
      ["?limit=ten", "limit", ""],
      ["?since=yesterday", "since", ""],
      ["?until=2026-13-01T00:00:00Z", "until", ""],
      ["?cursor=abc", "cursor", "not a cursor this server gave"],
      [`?cursor=${Buffer.from("runs:123:not-a-uuid").toString("base64url")}`, "cursor", "not a cursor this server gave"],
      ["?who=me", "who", "unknown field"],
    ];
    if (audit.nextCursor) cases.push([`?cursor=${audit.nextCursor}`, "cursor", "not a cursor this server gave"]);
    for (const [query, field, message] of cases) {
      for (const path of ["/v1/runs", "/v1/repos/acme/widgets/runs"]) {
        const body = await json<{ error: string; issues: { field: string; message: string }[] }>(srv, `${path}${query}`, 400);
        assert.equal(body.error, "invalid_request", query);
        assert.deepEqual(
          body.issues.map((i) => i.field),
          [field],
          query,
        );
        if (message) assert.equal(body.issues[0].message, message, query);
      }
    }
    assert.deepEqual(await json(srv, "/v1/repos/acme/nothing/runs", 404), { error: "repo_not_found" });
    assert.equal((await json<{ error: string }>(srv, "/v1/repos/-bad-/widgets/runs", 400)).error, "invalid_request");
  });
});

test("a listed run is the run view GET /v1/runs/{id} answers", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    const one = await json<Record<string, unknown>>(srv, `/v1/runs/${runId}`);
    const listed = await json<{ runs: Record<string, unknown>[] }>(srv, "/v1/repos/acme/widgets/runs");
    assert.deepEqual(listed.runs, [one]);
    assert.equal(one.position, 0, "a queued run's position is there too");
  } finally {
    await srv.close();
  }
});

interface TaskItem {
  id: string;
  owner: string;
  repo: string;
  capability: string;
  state: string;
  deliveryStatus: string;
  attemptCount: number;
  lastAttempt: { attempt: number; agentId: string | null; agentName: string | null; outcome: string | null } | null;
  createdAt: string;
}

describe("task history", () => {
  let srv: TestServer;
  let agentA = "";
  before(async () => {
    srv = await startTestServer({ startQueue: false, startDispatcher: false });
    await registerRepo(srv, "acme", "widgets", "proj-w");
    await registerRepo(srv, "acme", "gadgets", "proj-g");
    agentA = await registerAgent(srv, "agent-a", "http://127.0.0.1:1/tasks", { implement: 1 });
    const agentB = await registerAgent(srv, "agent-b", "http://127.0.0.1:1/tasks", { review: 1 });
    // Four widgets tasks at one instant, one gadgets task earlier; the first two widgets tasks were tried.
    await srv.db.pool.query(
      `INSERT INTO tasks (capability, owner, repo, payload, timeout_ms, created_at, state, delivery_status, attempts)
       SELECT CASE WHEN i % 2 = 0 THEN 'implement' ELSE 'review' END, 'acme', 'widgets', '{"secret":"payload-text"}', 1000,
              '2026-02-01T08:00:00.5Z', CASE WHEN i = 1 THEN 'FAILED' ELSE 'INTAKE' END, 'pending', 0
       FROM generate_series(1, 4) i`,
    );
    await srv.db.pool.query(
      `INSERT INTO tasks (capability, owner, repo, payload, timeout_ms, created_at) VALUES ('review', 'acme', 'gadgets', '{}', 1000, '2026-02-01T07:00:00Z')`,
    );
    const widgets = await srv.db.pool.query<{ id: string }>("SELECT id FROM tasks WHERE repo = 'widgets' ORDER BY id LIMIT 2");
    for (const [i, { id }] of widgets.rows.entries()) {
      await srv.db.pool.query("UPDATE tasks SET attempts = 2 WHERE id = $1", [id]);
      await srv.db.pool.query(
        `INSERT INTO task_attempts (task_id, attempt, agent_id, finished_at, outcome) VALUES ($1, 1, $2, now(), 'http_error'), ($1, 2, $3, NULL, 'delivered')`,
        [id, agentB, i === 0 ? agentA : agentB],
      );
    }
  });
  after(() => srv.close());

  test("pages walk every task once, newest first, with its attempt count and last attempt", async () => {
    const { pages, items } = await walk<TaskItem>(srv, "/v1/tasks?limit=2", "tasks");
    assert.deepEqual(pages, [2, 2, 1]);
    const { rows } = await srv.db.pool.query<{ id: string }>("SELECT id FROM tasks ORDER BY created_at DESC, id DESC");
    assert.deepEqual(
      items.map((t) => t.id),
      rows.map((r) => r.id),
    );
    const tried = items.filter((t) => t.attemptCount > 0);
    assert.equal(tried.length, 2);
    for (const t of tried) assert.deepEqual([t.lastAttempt?.attempt, t.lastAttempt?.outcome], [2, "delivered"]);
    assert.deepEqual(tried.map((t) => t.lastAttempt?.agentName).sort(), ["agent-a", "agent-b"]);
    assert.ok(items.filter((t) => t.attemptCount === 0).every((t) => t.lastAttempt === null));
    const text = await (await srv.request("/v1/tasks")).text();
    assert.ok(!text.includes("payload-text"), "a list never carries payloads");
  });

  test("state, status, capability, agent and time filter; a repo's list holds its tasks only", async () => {
    const ids = async (query: string) => (await json<{ tasks: TaskItem[] }>(srv, query)).tasks;
    assert.deepEqual(
      (await ids("/v1/tasks?state=FAILED")).map((t) => t.state),
      ["FAILED"],
    );
    assert.equal((await ids("/v1/tasks?status=pending")).length, 5);
    assert.equal((await ids("/v1/tasks?status=delivered")).length, 0);
    assert.ok((await ids("/v1/tasks?capability=implement")).every((t) => t.capability === "implement"));
    assert.equal((await ids("/v1/tasks?capability=implement")).length, 2);
    // Agent B had an attempt of both tried tasks, agent A the last attempt of one.
    assert.equal((await ids(`/v1/tasks?agent=${agentA}`)).length, 1);
    assert.equal((await ids(`/v1/tasks?until=2026-02-01T08:00:00.5Z`)).length, 1);
    assert.equal((await ids(`/v1/tasks?since=2026-02-01T08:00:00.5Z`)).length, 4);
    const gadgets = await ids("/v1/repos/ACME/gadgets/tasks");
    assert.deepEqual(
      gadgets.map((t) => t.repo),
      ["gadgets"],
    );
    const widgets = await walk<TaskItem>(srv, "/v1/repos/acme/widgets/tasks?limit=3", "tasks");
    assert.deepEqual(widgets.pages, [3, 1]);
    assert.ok(widgets.items.every((t) => t.repo === "widgets"));
  });

  test("bad task query values are a 400 naming the field", async () => {
    const runsCursor = (await json<{ nextCursor: string }>(srv, "/v1/tasks?limit=1")).nextCursor;
    const cases: [string, string][] = [
      ["?state=DONE", "state"],
      ["?status=lost", "status"],
      ["?agent=agent-a", "agent"],
      ["?capability=%20x", "capability"],
      ["?limit=501", "limit"],
      ["?since=2026-02-01", "since"],
      [`?cursor=${runsCursor}x`, "cursor"],
      [
        `?cursor=${Buffer.from(Buffer.from(runsCursor, "base64url").toString().replace("tasks:", "runs:")).toString("base64url")}`,
        "cursor",
      ],
    ];
    for (const [query, field] of cases) {
      for (const path of ["/v1/tasks", "/v1/repos/acme/widgets/tasks"]) {
        const body = await json<{ error: string; issues: { field: string }[] }>(srv, `${path}${query}`, 400);
        assert.deepEqual([body.error, body.issues.map((i) => i.field)], ["invalid_request", [field]], `${path}${query}`);
      }
    }
    assert.deepEqual(await json(srv, "/v1/repos/acme/nothing/tasks", 404), { error: "repo_not_found" });
  });
});

interface DeliveryItem {
  deliveryId: string;
  owner: string;
  repo: string | null;
  event: string;
  outcome: string;
  receivedAt: string;
  workItems: { kind: string; taskId: string | null }[];
}

describe("delivery history", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ startQueue: false, startDispatcher: false });
    await registerRepo(srv, "acme", "widgets", "proj-w");
    await registerRepo(srv, "acme", "gadgets", "proj-g");
    // The URL's spelling is kept as it came: GitHub names are compared without regard to case.
    await srv.db.pool.query(
      `INSERT INTO webhook_deliveries (delivery_id, owner, repo, event, action, received_at, status, processed_at, reason, payload)
       SELECT 'd-' || i, 'Acme', 'Widgets', CASE WHEN i <= 2 THEN 'issues' ELSE 'pull_request' END, 'opened', '2026-03-01T12:00:00Z',
              CASE WHEN i = 1 THEN 'ignored' WHEN i = 2 THEN 'received' ELSE 'processed' END, now(), CASE WHEN i = 1 THEN 'no configured label' END,
              '{"hook":{"config":{"secret":"whsec-hidden"}}}'
       FROM generate_series(1, 4) i`,
    );
    await srv.db.pool.query(
      `INSERT INTO webhook_deliveries (delivery_id, owner, repo, event, received_at, status) VALUES
         ('g-1', 'acme', 'gadgets', 'issues', '2026-03-01T11:00:00Z', 'failed'), ('o-1', 'acme', NULL, 'projects_v2_item', '2026-03-01T13:00:00Z', 'processed')`,
    );
    await srv.db.pool.query(
      `INSERT INTO webhook_work_items (delivery_id, owner, repo, kind, issue_number, payload) VALUES ('d-3', 'acme', 'widgets', 'pull-request', 7, '{}')`,
    );
  });
  after(() => srv.close());

  test("pages walk every delivery once, newest first, without payload or signature", async () => {
    const { pages, items } = await walk<DeliveryItem>(srv, "/v1/deliveries?limit=4", "deliveries");
    assert.deepEqual(pages, [4, 2]);
    const { rows } = await srv.db.pool.query<{ delivery_id: string }>(
      "SELECT delivery_id FROM webhook_deliveries ORDER BY received_at DESC, delivery_id DESC",
    );
    assert.deepEqual(
      items.map((d) => d.deliveryId),
      rows.map((r) => r.delivery_id),
    );
    assert.equal(items[0].deliveryId, "o-1");
    assert.deepEqual(
      items.find((d) => d.deliveryId === "d-3")?.workItems.map((w) => w.kind),
      ["pull-request"],
    );
    const text = await (await srv.request("/v1/deliveries")).text();
    assert.ok(!text.includes("whsec-hidden") && !text.includes("payload") && !text.includes("signature"), text);
  });

  test("event, outcome and time filter; a repo's list holds the deliveries to its URL only", async () => {
    const list = async (query: string) => (await json<{ deliveries: DeliveryItem[] }>(srv, query)).deliveries.map((d) => d.deliveryId);
    assert.deepEqual(await list("/v1/deliveries?event=issues"), ["d-2", "d-1", "g-1"]);
    assert.deepEqual(await list("/v1/deliveries?outcome=ignored"), ["d-1"]);
    assert.deepEqual(await list("/v1/deliveries?outcome=received"), ["d-2"]);
    assert.deepEqual(await list("/v1/deliveries?until=2026-03-01T12:00:00Z"), ["g-1"]);
    assert.deepEqual(await list("/v1/deliveries?since=2026-03-01T12:00:01Z"), ["o-1"]);
    assert.deepEqual(await list("/v1/repos/acme/widgets/deliveries"), ["d-4", "d-3", "d-2", "d-1"]);
    assert.deepEqual(await list("/v1/repos/acme/widgets/deliveries?event=pull_request&limit=1"), ["d-4"]);
    assert.deepEqual(await list("/v1/repos/acme/gadgets/deliveries"), ["g-1"]);
    for (const [query, field] of [
      ["?outcome=lost", "outcome"],
      ["?event=", "event"],
      ["?limit=-1", "limit"],
      ["?cursor=ZGVsaXZlcmllczoxOmEgYg", "cursor"],
    ]) {
      const body = await json<{ error: string; issues: { field: string }[] }>(srv, `/v1/repos/acme/widgets/deliveries${query}`, 400);
      assert.deepEqual([body.error, body.issues.map((i) => i.field)], ["invalid_request", [field]], query);
    }
  });
});
