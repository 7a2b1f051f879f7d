// Over a thousand malformed or hostile requests against the real server process, on every route of its
// OpenAPI document: each must be refused with a 4xx and a machine-readable body, nothing may be stored, no
// secret may reach a log line, and the server must serve good requests afterwards.
import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import http from "node:http";
import { after, before, test } from "node:test";
import { vaultWebhookPath } from "../../domain/names";
import { type FaultServer, startFaultServer } from "../../testkit/fault-server";
import { linesWithSecrets, recordFault } from "../../testkit/fault-report";
import type { TestServer } from "../../testkit/server";
import { deleteVaultSecret } from "../../testkit/vault-api";
import { deliver, issuePayload, processedRow, type RegisteredRepo, registerRepo, sign } from "../../testkit/webhooks";

// A failure names its seed; MESH_SIX_FAULT_SEED=<seed> replays exactly the same requests.
const SEED = Number(process.env.MESH_SIX_FAULT_SEED ?? randomInt(2 ** 31));
const REQUESTS = 1200;
const CONCURRENCY = 16;
const JSON_LIMIT = 64 * 1024;
const WEBHOOK_LIMIT = 1024 * 1024;

/** Deterministic draws from SHA-256 over (seed, counter): the same seed gives the same requests. */
function seededRandom(seed: number): () => number {
  let n = 0;
  return () => createHash("sha256").update(`${seed}:${n++}`).digest().readUInt32BE(0) / 2 ** 32;
}

interface Hostile {
  category: string;
  method: string;
  /** Sent as written: no normalisation of `..` or percent-escapes on the way. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Sent in several chunks without a Content-Length. */
  chunked?: boolean;
  /** The answers that are right for it (all 4xx). */
  expect: number[];
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

interface Operation {
  method: string;
  /** OpenAPI template, e.g. /v1/runs/{id}. */
  template: string;
  auth: boolean;
  /** undefined: no body; false: optional; true: required. */
  bodyRequired?: boolean;
}

/** Sends one request over its own connection, exactly as written. */
function sendRaw(base: URL, h: Hostile): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: base.hostname, port: base.port, method: h.method, path: h.path, headers: h.headers, agent: false, timeout: 20_000 },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${h.method} ${h.path}: no answer`)));
    // A server that answers before reading the whole body may reset the rest of the upload: the answer counts.
    req.on("error", (err) => (answered ? undefined : reject(err)));
    if (h.chunked && h.body) {
      const step = Math.ceil(h.body.length / 4);
      for (let at = 0; at < h.body.length; at += step) req.write(h.body.subarray(at, at + step));
      req.end();
    } else req.end(h.body);
  });
}

async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]);
      }
    }),
  );
  return out;
}

function operationsOf(doc: {
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { required: boolean } }>>;
}): Operation[] {
  return Object.entries(doc.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      template,
      auth: !(Array.isArray(op.security) && op.security.length === 0),
      bodyRequired: op.requestBody?.required,
    })),
  );
}

/** Builds the hostile requests from the server's own route list, the registered repos and a seeded PRNG. */
function hostileRequests(seed: number, ops: Operation[], ctx: { token: string; repos: RegisteredRepo[] }): Hostile[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("");
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const repo = () => pick(ctx.repos);
  const auth = { authorization: `Bearer ${ctx.token}` };
  const json = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v));
  const fill = (template: string, names: { owner?: string; repo?: string; id?: string; org?: string } = {}) =>
    template
      .replace("{owner}", names.owner ?? repo().owner)
      .replace("{repo}", names.repo ?? repo().repo)
      .replace("{id}", names.id ?? uuid())
      .replace("{org}", names.org ?? repo().owner);
  const authed = ops.filter((o) => o.auth);
  const withBody = ops.filter((o) => o.bodyRequired !== undefined);
  // Bodies that are refused whatever the route: an empty body is not refused where it is optional.
  const needsBody = withBody.filter((o) => o.bodyRequired);

  // Names a route must refuse before they reach the database, Kubernetes or a Vault path. Repo names may hold
  // dots, underscores and hyphens anywhere, so those shapes are only invalid as owners.
  const badRepoNames = [
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    "%2e%2e%2f%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    "..%5c..%5cwindows",
    "%00",
    "a%00b",
    "%2f",
    "a%2fb",
    "y".repeat(101),
    "%D0%B0cme" /* Cyrillic а */,
    "%EF%BD%81cme" /* fullwidth ａ */,
    "%E2%80%AEacme" /* right-to-left override */,
    "%0d%0aX-Injected:1",
    "%20",
    "a%20b",
    "%ff",
    "%",
    "%zz",
    "%E0%A4%A",
    "widgets.git",
    "WIDGETS.GIT",
  ];
  const badOwners = [...badRepoNames.filter((n) => !/\.git$/i.test(n)), "x".repeat(40), "-acme", "acme-", "ac--me", "a_b", "a.b"];
  const garbageJson = [
    "{",
    "}",
    '{"owner":',
    '{"owner":"a",}',
    "nul",
    "undefined",
    "'{}'",
    '{owner:"a"}',
    "[1,2",
    '"unterminated',
    '{"a":1}{"b":2}',
    "\u0000",
    '\ufeff{"owner":"a"',
    '{"a":"\\ud800"',
    '{"a":1e99999',
    "42",
    '"a string"',
    "true",
    "null",
  ];
  const jsonHeaders: Record<string, string> = { ...auth, "content-type": "application/json" };

  const wrongShapes: Record<string, unknown[]> = {
    "/v1/onboardings": [
      [],
      { owner: 1, repo: 2 },
      { owner: "..", repo: "x" },
      { owner: "acme", repo: "w", extra: true },
      { owner: "acme-", repo: "w" },
      { owner: "acme", repo: "w.git" },
      { owner: "acme", repo: "w", resources: "lots" },
      { owner: "ac\u0000me", repo: "w" },
      { owner: "\uff41cme", repo: "w" },
      { owner: "acme", repo: "w", skipAuth: "yes" },
      { owner: "acme" },
      { repo: "w" },
      JSON.parse('{"owner":"acme","repo":"w","__proto__":{"admin":true}}'),
    ],
    "/v1/agents": [
      [],
      { name: "", endpoint: "http://127.0.0.1:9/", capabilities: { planning: 1 } },
      { name: "a", endpoint: "file:///etc/passwd", capabilities: { planning: 1 } },
      { name: "a", endpoint: "javascript:alert(1)", capabilities: { planning: 1 } },
      { name: "a", endpoint: "http://127.0.0.1:9/", capabilities: {} },
      { name: "a", endpoint: "http://127.0.0.1:9/", capabilities: { "bad cap": 1 } },
      { name: "a", endpoint: "http://127.0.0.1:9/", capabilities: { planning: -1 } },
      { name: "a".repeat(201), endpoint: "http://127.0.0.1:9/", capabilities: { planning: 1 } },
      { name: "a", endpoint: "http://127.0.0.1:9/", capabilities: { planning: 1 }, admin: true },
    ],
    "/v1/tasks": [
      [],
      { capability: "planning", owner: "acme", repo: "w" },
      { capability: "../x", owner: "acme", repo: "w", payload: {} },
      { capability: "planning", owner: "acme", repo: "w", payload: {}, priority: 1e6 },
      { capability: "planning", owner: "acme", repo: "w", payload: {}, timeoutMs: 0 },
      { capability: "planning", owner: "a".repeat(40), repo: "w", payload: {} },
      { capability: "planning", owner: "acme", repo: "w", payload: {}, extra: 1 },
    ],
    "/v1/tasks/{id}/transition": [[], { to: "DONE" }, { to: 1 }, { from: "INTAKE", to: "PLANNING" }, { to: "planning" }],
    "/v1/tasks/{id}/result": [
      [],
      { outcome: "maybe" },
      { outcome: "failed", error: "x".repeat(10_001) },
      { outcome: "succeeded", extra: 1 },
    ],
    "/v1/runs/{id}/auth": [[], { access_token: "" }, { access_token: "a", token_type: "b", expires_in: -1 }],
    "/v1/repos/{owner}/{repo}/preview": [[], { unknownField: 1 }, { resources: "big" }, { owner: "other" }, { labels: "mesh-six" }],
  };

  const factories: Record<string, () => Hostile> = {
    "missing auth": () => {
      const o = pick(authed);
      return { category: "missing auth", method: o.method, path: fill(o.template), headers: {}, expect: [401] };
    },
    "wrong bearer token": () => {
      const o = pick(authed);
      const authorization = pick([
        "Bearer wrong-token-0123456789abcdef",
        `Bearer ${ctx.token}x`,
        `Bearer ${ctx.token.slice(0, -1)}`,
        `Basic ${Buffer.from(`x:${ctx.token}`).toString("base64")}`,
        "Bearer",
        "Bearer ",
        `Token ${ctx.token}`,
        `Bearer ${ctx.token} ${ctx.token}`,
        `Bearer\t${"A".repeat(4000)}`,
        "Bearer \u00e9\u00e8",
        `bearer  ${hex(32)}`,
      ]);
      return { category: "wrong bearer token", method: o.method, path: fill(o.template), headers: { authorization }, expect: [401, 403] };
    },
    "bad JSON": () => {
      const o = pick(withBody);
      return {
        category: "bad JSON",
        method: o.method,
        path: fill(o.template),
        headers: jsonHeaders,
        body: json(pick(garbageJson)),
        expect: [400, 404],
      };
    },
    "wrong shape": () => {
      const o = pick(withBody);
      return {
        category: "wrong shape",
        method: o.method,
        path: fill(o.template),
        headers: jsonHeaders,
        body: json(pick(wrongShapes[o.template] ?? [[]])),
        expect: [400, 404],
      };
    },
    "NUL bytes": () => {
      const r = repo();
      const body = pick([
        { capability: "planning", owner: r.owner, repo: r.repo, payload: { note: `a\u0000${hex(4)}` } },
        { name: `agent\u0000${hex(4)}`, endpoint: "http://127.0.0.1:9/", capabilities: { planning: 1 } },
      ]);
      return {
        category: "NUL bytes",
        method: "POST",
        path: "name" in body ? "/v1/agents" : "/v1/tasks",
        headers: jsonHeaders,
        body: json(body),
        expect: [400],
      };
    },
    "huge body": () => {
      const o = pick(withBody);
      const size = JSON_LIMIT + 1 + Math.floor(rand() * 4 * JSON_LIMIT);
      const body = Buffer.from(JSON.stringify({ owner: "acme", repo: "w", pad: "x".repeat(size) }));
      return {
        category: "huge body",
        method: o.method,
        path: fill(o.template),
        headers: jsonHeaders,
        body,
        chunked: rand() < 0.5,
        expect: [413],
      };
    },
    "huge webhook": () => {
      const r = repo();
      const body = Buffer.from(issuePayload(r.fullName, { added: "x".repeat(WEBHOOK_LIMIT + Math.floor(rand() * 1024)) }));
      const headers = {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": uuid(),
        "x-hub-signature-256": sign(r.secret, body),
      };
      return { category: "huge webhook", method: "POST", path: r.url, headers, body, chunked: rand() < 0.5, expect: [413] };
    },
    "invalid or traversal-shaped names": () => {
      const o = pick(ops.filter((x) => /\{(owner|repo|org)\}/.test(x.template)));
      const hook = o.template.startsWith("/webhooks/");
      const r = repo();
      const path = fill(
        o.template,
        rand() < 0.5
          ? { owner: pick(badOwners), repo: r.repo, org: pick(badOwners) }
          : { owner: r.owner, repo: pick(badRepoNames), org: pick(badOwners) },
      );
      const body = hook ? Buffer.from(issuePayload(r.fullName)) : o.bodyRequired === undefined ? undefined : json({});
      const headers: Record<string, string> = hook
        ? {
            "content-type": "application/json",
            "x-github-event": "issues",
            "x-github-delivery": uuid(),
            "x-hub-signature-256": sign(r.secret, body!),
          }
        : { ...auth, ...(body ? { "content-type": "application/json" } : {}) };
      return { category: "invalid or traversal-shaped names", method: o.method, path, headers, body, expect: [400, 404] };
    },
    "invalid ids": () => {
      const o = pick(ops.filter((x) => x.template.includes("{id}")));
      const id = pick([
        "..",
        "%2e%2e%2f%2e%2e",
        "not-a-uuid",
        "%00",
        uuid().toUpperCase().replace(/-/g, ""),
        `${uuid()}x`,
        "1%20OR%201%3D1",
        "1%27%20OR%20%271%27%3D%271",
        "%",
        "%E0%A4%A",
        "9".repeat(300),
      ]);
      const body =
        o.bodyRequired === undefined
          ? undefined
          : json(
              o.template.endsWith("/result")
                ? { outcome: "succeeded" }
                : o.template.endsWith("/transition")
                  ? { to: "PLANNING" }
                  : { access_token: "a", token_type: "bearer" },
            );
      return {
        category: "invalid ids",
        method: o.method,
        path: fill(o.template, { id }),
        headers: { ...auth, ...(body ? { "content-type": "application/json" } : {}) },
        body,
        expect: [400, 404],
      };
    },
    "bad webhook signature": () => {
      const [r, other] = rand() < 0.5 ? ctx.repos : [...ctx.repos].reverse();
      const body = Buffer.from(issuePayload(r.fullName, { labels: ["mesh-six"] }));
      const good = sign(r.secret, body);
      const signature = pick([
        undefined,
        "",
        "sha256=",
        good.slice(0, -1),
        good.slice(0, 20),
        sign(other.secret, body),
        good.replace("sha256=", "sha1="),
        `${good}00`,
        sign(r.secret, Buffer.concat([body, Buffer.from(" ")])),
        "sha256=" + "0".repeat(64),
        "sha256=zz" + hex(62),
        good.replace("sha256=", ""),
      ]);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": uuid(),
      };
      if (signature !== undefined) headers["x-hub-signature-256"] = signature;
      return { category: "bad webhook signature", method: "POST", path: r.url, headers, body, expect: [401] };
    },
    "forged webhook": () => {
      // Signed with the right secret, but wrong in every other way a replay or a confused hook can be.
      const [r, other] = rand() < 0.5 ? ctx.repos : [...ctx.repos].reverse();
      const variant = Math.floor(rand() * 7);
      const bodies = [
        issuePayload(other.fullName),
        "not json",
        "[1,2,3]",
        issuePayload(r.fullName),
        issuePayload(r.fullName),
        issuePayload(r.fullName),
        "\u00ff\u00fe",
      ];
      const body = variant === 6 ? Buffer.from([0xff, 0xfe, 0x7b]) : Buffer.from(bodies[variant]);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": uuid(),
        "x-hub-signature-256": sign(r.secret, body),
      };
      let path = r.url;
      const expect = [[400], [400], [400], [401], [400], [400], [401]][variant];
      if (variant === 3) path = other.url; // one repo's delivery replayed at another's URL
      if (variant === 4) delete headers["x-github-event"];
      if (variant === 5) headers["x-github-delivery"] = pick(["", "../../x", "a".repeat(101), "id with spaces", "%00"]);
      return { category: "forged webhook", method: "POST", path, headers, body, expect };
    },
    "wrong content type": () => {
      if (rand() < 0.5) {
        const r = repo();
        const body = Buffer.from(issuePayload(r.fullName));
        const contentType = pick([
          "text/plain",
          "application/xml",
          "multipart/form-data; boundary=x",
          "application/jsonx",
          "image/png",
          "text/json",
        ]);
        const headers = {
          "content-type": contentType,
          "x-github-event": "issues",
          "x-github-delivery": uuid(),
          "x-hub-signature-256": sign(r.secret, body),
        };
        return { category: "wrong content type", method: "POST", path: r.url, headers, body, expect: [415] };
      }
      const o = pick(needsBody);
      const contentType = pick([
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-16",
        "application/json; charset=latin9",
      ]);
      const headers: Record<string, string> = { ...auth, "content-type": contentType };
      const variant = rand();
      if (variant < 0.2) headers["content-encoding"] = pick(["br-but-not", "compress", "x-custom"]);
      else if (variant < 0.4) headers["content-encoding"] = pick(["gzip", "deflate"]);
      return {
        category: "wrong content type",
        method: o.method,
        path: fill(o.template),
        headers,
        body: json({ owner: "acme", repo: "w" }),
        expect: [400, 404, 415],
      };
    },
    "wrong method": () => {
      const paths = [...new Set(ops.map((o) => o.template))];
      const template = pick(paths);
      const taken = new Set(ops.filter((o) => o.template === template).map((o) => o.method));
      const method = pick(["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"].filter((m) => !taken.has(m)));
      return { category: "wrong method", method, path: fill(template), headers: auth, expect: [404] };
    },
    "invalid idempotency key": () => {
      const r = repo();
      const headers = {
        ...auth,
        "content-type": "application/json",
        "idempotency-key": pick(["", " ", "a b", "x".repeat(256), "\u00e9t\u00e9", "tab\there"]),
      };
      return {
        category: "invalid idempotency key",
        method: "POST",
        path: `/v1/repos/${r.owner}/${r.repo}/preview`,
        headers,
        body: json({}),
        expect: [400],
      };
    },
    "header flood": () => {
      const o = pick(authed);
      if (rand() < 0.3)
        return {
          category: "header flood",
          method: o.method,
          path: fill(o.template),
          headers: { "x-flood": "f".repeat(20_000) },
          expect: [431],
        };
      const headers = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`x-flood-${i}`, hex(16)]));
      return { category: "header flood", method: o.method, path: fill(o.template), headers, expect: [401] };
    },
  };

  const names = Object.keys(factories);
  // Every category at least a few times, the rest drawn at random; megabyte bodies are drawn less often (they
  // cost time, and a few prove the limit as well as many).
  const weighted = names.flatMap((n) => (n.startsWith("huge") ? [n] : [n, n, n, n, n, n]));
  const order = [...names.flatMap((n) => [n, n, n]), ...Array.from({ length: REQUESTS - names.length * 3 }, () => pick(weighted))];
  return order.map((n) => factories[n]());
}

let fs: FaultServer;
let repos: RegisteredRepo[];
const started = Date.now();

/** What the fixtures of testkit/webhooks.ts need of a server: its database and plain HTTP. */
const webhookTarget = (f: FaultServer) =>
  ({ db: { pool: f.pool }, request: (p: string, init?: RequestInit) => fetch(`${f.server.url}${p}`, init) }) as unknown as TestServer;

const TABLES = ["runs", "tasks", "agents", "api_tokens", "webhook_deliveries", "webhook_work_items"];

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of TABLES) counts[t] = (await fs.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
  return counts;
}

before(
  async () => {
    fs = await startFaultServer();
    repos = [await registerRepo(webhookTarget(fs)), await registerRepo(webhookTarget(fs))];
  },
  { timeout: 90_000 },
);

after(
  async () => {
    await fs?.cleanup([]);
    await Promise.all((repos ?? []).map((r) => deleteVaultSecret(vaultWebhookPath(r)).catch(() => undefined)));
  },
  { timeout: 60_000 },
);

test(
  `${REQUESTS} hostile requests are all refused with a JSON 4xx, store nothing, and leave the server serving (seed ${SEED})`,
  { timeout: 90_000 },
  async (t) => {
    t.diagnostic(`seed ${SEED} (MESH_SIX_FAULT_SEED=${SEED} replays these requests)`);
    const doc = (await (await fs.server.request("/v1/openapi.json")).json()) as Parameters<typeof operationsOf>[0];
    const ops = operationsOf(doc);
    assert.ok(ops.length >= 20, `the OpenAPI document lists ${ops.length} operations`);
    const requests = hostileRequests(SEED, ops, { token: fs.server.token, repos });
    assert.ok(requests.length >= 1000);
    const initial = await rowCounts();

    const base = new URL(fs.server.url);
    const answers = await inBatches(requests, CONCURRENCY, (h) => sendRaw(base, h));

    const byStatus: Record<string, number> = {};
    const byCategory: Record<string, number> = {};
    const wrong: string[] = [];
    answers.forEach((a, i) => {
      const h = requests[i];
      byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
      byCategory[h.category] = (byCategory[h.category] ?? 0) + 1;
      const what = `#${i} ${h.category}: ${h.method} ${h.path.slice(0, 120)} → ${a.status} ${a.body.slice(0, 200)}`;
      if (!h.expect.includes(a.status)) wrong.push(`${what} (expected ${h.expect.join("|")})`);
      // Node's HTTP parser answers an oversized header block itself, before the app sees the request.
      if (a.status === 431) return;
      let body: unknown;
      try {
        body = JSON.parse(a.body);
      } catch {
        body = undefined;
      }
      if (!a.contentType.startsWith("application/json") || typeof (body as { error?: unknown })?.error !== "string")
        wrong.push(`${what} (not the JSON error shape)`);
    });
    t.diagnostic(`answers by status: ${JSON.stringify(byStatus)}; requests by category: ${JSON.stringify(byCategory)}`);
    const afterHostile = await rowCounts();

    // Still serving: probes, and one good delivery and one good task, both stored and taken up.
    const probes = { healthz: (await fetch(`${fs.server.url}/healthz`)).status, readyz: (await fetch(`${fs.server.url}/readyz`)).status };
    const [r] = repos;
    const good = await deliver(webhookTarget(fs), r.url, issuePayload(r.fullName, { labels: ["mesh-six"] }), {
      event: "issues",
      secret: r.secret,
    });
    const goodRow = good.status === 202 ? await processedRow(webhookTarget(fs), good.deliveryId).catch(() => undefined) : undefined;
    const task = await fs.server.request("/v1/tasks", {
      method: "POST",
      json: { capability: "review", owner: r.owner, repo: r.repo, payload: { n: 1 } },
    });

    // Accepted: answered 2xx (a hostile one included, were there any); accounted: what the database holds in the end.
    const accepted2xx = (match: (h: Hostile) => boolean) => answers.filter((a, i) => a.status < 300 && match(requests[i])).length;
    const count = async (sql: string) => (await fs.pool.query<{ n: number }>(sql)).rows[0].n;
    const goodDelivery = good.status === 202 ? 1 : 0;
    const runs = {
      accepted: accepted2xx((h) => h.path.startsWith("/v1/onboardings") || h.path.startsWith("/v1/repos/")),
      accounted: await count("SELECT count(*)::int AS n FROM runs"),
    };
    const deliveries = {
      accepted: accepted2xx((h) => h.path.startsWith("/webhooks/")) + goodDelivery,
      accounted: await count("SELECT count(*)::int AS n FROM webhook_deliveries WHERE status IN ('processed', 'ignored')"),
    };
    // The good delivery's issue becomes a planning task beside the API's review task.
    const tasks = {
      accepted: accepted2xx((h) => h.path.startsWith("/v1/tasks")) + (task.status === 202 ? 1 : 0) + goodDelivery,
      accounted: await count("SELECT count(*)::int AS n FROM tasks"),
    };

    const lines = fs.server.logs;
    const secrets = [...(await fs.secrets([])), ...repos.map((x) => x.secret)];
    const leaks = linesWithSecrets(lines, secrets);
    const stored = TABLES.filter((table) => afterHostile[table] !== initial[table]);
    recordFault({
      fault: "hostile requests",
      injected: `${requests.length} malformed or hostile requests over ${ops.length} operations (${Object.keys(byCategory).length} kinds, seed ${SEED})`,
      outcome:
        wrong.length + stored.length === 0
          ? "all refused with a JSON 4xx; nothing stored; server healthy and serving after"
          : `${wrong.length} wrong answers; rows added to ${stored.join(", ") || "no table"}`,
      runs,
      deliveries,
      tasks,
      requests: { sent: requests.length, byStatus },
      logLines: lines.length,
      secretsInLogs: leaks.length,
      durationMs: Date.now() - started,
    });

    // The server's log tail, in case a refusal was in fact an internal error.
    assert.deepEqual(
      wrong.slice(0, 30),
      [],
      `seed ${SEED}: ${wrong.length} wrong answers\nserver log tail:\n${fs.server.logs.slice(-15).join("\n")}`,
    );
    assert.ok(Object.keys(byStatus).every((s) => Number(s) >= 400 && Number(s) < 500));
    assert.deepEqual(afterHostile, initial, `seed ${SEED}: a hostile request stored something`);
    assert.deepEqual(probes, { healthz: 200, readyz: 200 });
    assert.equal(good.status, 202, JSON.stringify(good.json));
    assert.equal(goodRow?.status, "processed");
    assert.equal(task.status, 202);
    assert.deepEqual(
      { runs, deliveries, tasks },
      { runs: { accepted: 0, accounted: 0 }, deliveries: { accepted: 1, accounted: 1 }, tasks: { accepted: 2, accounted: 2 } },
    );
    assert.deepEqual(leaks, [], "a secret reached a log line");
  },
);
