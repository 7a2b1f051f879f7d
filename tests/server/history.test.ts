import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { onboard, startTestServer, type TestServer } from "../../testkit/server";

/**
 * The history lists: runs over every repo and per repo, a page at a time, newest first by (created_at, id).
 * Rows are inserted with equal times on purpose: a cursor of the time alone would repeat or skip them.
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
