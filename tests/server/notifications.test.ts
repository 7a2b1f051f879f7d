// Notifications end to end: events written with the changes they report, fanned out to signed webhooks and an
// ntfy topic (emulators/ntfy), delivered by the worker with timeouts and retries. Real HTTP receivers, real
// PostgreSQL and Vault.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test, type TestContext } from "node:test";
import type { StackRunner } from "../../pulumi/runner";
import { startNtfyEmulator } from "../../emulators/ntfy/server";
import { claimDelivery, deliveryLedger, type LedgerEntry } from "../../notify/delivery-store";
import { createMetrics } from "../../server/metrics";
import { createWorkers } from "../../server/workers";
import { startAuthorizationServer, startAuthService } from "../../testkit/oauth-server";
import { ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, type TestServer, waitFor, waitForStatus } from "../../testkit/server";
import { quietLogger } from "../../testkit/log-capture";
import { deliver, registerRepo, repoPayload, webhookConfig } from "../../testkit/webhooks";
import { issueToken } from "../../testkit/tokens";

type WebhookMethods = typeof import("@octokit/webhooks-methods");
const webhookMethods = (): Promise<WebhookMethods> => import("@octokit/webhooks-methods");

/** Fast retries and a short timeout, so a slow receiver shows within a test's time. */
const NOTIFY = { notifyTimeoutMs: 300, notifyRetryBaseMs: 40, notifyRetryMaxMs: 300, notifyConcurrency: 4 };

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

type Behaviour = "ok" | "slow" | "fail";

/** A webhook receiver on a real socket; `behaviour` can change while it runs, `down()`/`up()` close and reopen its port. */
interface Receiver {
  url: string;
  received: Received[];
  behaviour: Behaviour;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function startReceiver(behaviour: Behaviour = "ok"): Promise<Receiver> {
  let server: Server | undefined;
  let port = 0;
  const r: Receiver = {
    url: "",
    received: [],
    behaviour,
    async up() {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString("utf8")));
        req.on("end", () => {
          r.received.push({ headers: req.headers, body, at: Date.now() });
          if (r.behaviour === "fail") return void res.writeHead(503).end("down for maintenance");
          // Longer than the worker's timeout: the attempt is abandoned while this receiver still "works".
          const delay = r.behaviour === "slow" ? NOTIFY.notifyTimeoutMs * 4 : 0;
          setTimeout(() => res.writeHead(204).end(), delay).unref();
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
      r.url = `http://127.0.0.1:${port}/hook`;
    },
    async down() {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    },
    close: () => r.down(),
  };
  await r.up();
  return r;
}

async function subscribe(srv: TestServer, body: Record<string, unknown>): Promise<{ id: string; secret: string | null }> {
  const res = await srv.request("/v1/subscriptions", { method: "POST", json: body });
  assert.equal(res.status, 201, await res.clone().text());
  assert.equal(res.headers.get("cache-control"), "no-store");
  return (await res.json()) as { id: string; secret: string | null };
}

const bodyOf = (r: Received) => JSON.parse(r.body) as { event: string; deliveryId: string; link: string; data: Record<string, unknown> };

async function ledger(srv: TestServer, subscriptionId?: string): Promise<LedgerEntry[]> {
  return deliveryLedger(srv.db.pool, { subscriptionId, limit: 1000 });
}

/** Closed when the test ends, however it ends. */
async function kept<T extends { close(): Promise<unknown> }>(t: TestContext, started: Promise<T>): Promise<T> {
  const it = await started;
  t.after(() => it.close());
  return it;
}

test("every kind of event reaches the channels subscribed to it: signed webhooks and ntfy, per repository and kind", async (t) => {
  const as = await kept(t, startAuthorizationServer());
  const service = await kept(t, startAuthService());
  const hook = await kept(t, startReceiver());
  const failuresOnly = await kept(t, startReceiver());
  const otherRepo = await kept(t, startReceiver());
  const ntfy = await kept(t, startNtfyEmulator());
  const runner = new ScriptedRunner();
  const srv = await kept(
    t,
    startTestServer({
      runner,
      config: { ...NOTIFY, webhooks: webhookConfig(), deviceFlow: as.config, authServiceUrl: service.url, deviceFlowSecondMs: 10 },
    }),
  );
  {
    const repo = await registerRepo(srv);
    const stack = `${repo.owner}.${repo.repo}`.toLowerCase();
    const all = ["run.succeeded", "run.failed", "run.waiting-for-auth", "drift.detected", "task.exhausted", "webhook.failed"];
    const global = await subscribe(srv, { channel: "webhook", url: hook.url, events: all });
    assert.match(global.secret ?? "", /^[0-9a-f]{64}$/);
    const onlyFailures = await subscribe(srv, { channel: "webhook", url: failuresOnly.url, events: ["run.failed"] });
    const elsewhere = await subscribe(srv, { channel: "webhook", owner: "someone", repo: "else", url: otherRepo.url, events: all });
    const topic = await subscribe(srv, {
      channel: "ntfy",
      owner: repo.owner,
      repo: repo.repo,
      url: ntfy.url,
      topic: "mesh-six-ops",
      events: all,
    });
    assert.equal(topic.secret, null);

    // The secret is never shown again, to anyone.
    const listed = await (await srv.request("/v1/subscriptions")).text();
    assert.doesNotMatch(listed, new RegExp(global.secret!));
    assert.equal(JSON.parse(listed).subscriptions.length, 4);
    const viewer = await issueToken(srv, { name: "viewer", role: "viewer" });
    assert.equal((await srv.request("/v1/subscriptions", { token: viewer.token })).status, 403);

    // run.waiting-for-auth, then run.succeeded once credentials are pushed.
    const waiting = await onboard(srv, { owner: repo.owner, repo: repo.repo, authProjectId: "proj-1" });
    await waitForStatus(srv, waiting.runId, "waiting-for-auth");
    const pushed = await srv.request(`/v1/runs/${waiting.runId}/auth`, {
      method: "POST",
      json: { access_token: "pushed-access-token", token_type: "Bearer" },
    });
    assert.equal(pushed.status, 202);
    await waitForStatus(srv, waiting.runId, "succeeded");
    // run.failed
    runner.on(stack, { failAt: { step: "up", message: "the cluster said no" } }, { once: true });
    const failing = await onboard(srv, { owner: repo.owner, repo: repo.repo, skipAuth: true });
    await waitForStatus(srv, failing.runId, "failed");
    // drift.detected
    runner.on(stack, { changeSummary: { same: 3, update: 1 } }, { once: true });
    const check = await srv.request(`/v1/repos/${repo.owner}/${repo.repo}/drift-check`, { method: "POST" });
    const driftRunId = ((await check.json()) as { runId: string }).runId;
    await waitForStatus(srv, driftRunId, "succeeded");
    // task.exhausted: no agent offers the capability.
    const task = await srv.request("/v1/tasks", {
      method: "POST",
      json: { capability: "nobody-has-it", owner: repo.owner, repo: repo.repo, payload: {} },
    });
    const taskId = ((await task.json()) as { taskId: string }).taskId;
    // webhook.failed: a delivery whose processing fails.
    const broken = await deliver(srv, repo.url, repoPayload(repo.fullName, { action: "opened", issue: { title: 42 } }), {
      secret: repo.secret,
      event: "issues",
    });
    assert.equal(broken.status, 202);

    // Seven events: the drift check is a run too, and it succeeded.
    const expected = [...all, "run.succeeded"].sort();
    await waitFor(
      () => hook.received.length >= 7 && ntfy.received.length >= 7 && failuresOnly.received.length >= 1,
      "every delivery",
      10_000,
    );
    const { verify } = await webhookMethods();
    assert.deepEqual(hook.received.map((r) => bodyOf(r).event).sort(), expected);
    for (const r of hook.received) {
      const signature = String(r.headers["x-mesh-six-signature-256"]);
      assert.ok(await verify(global.secret!, r.body, signature), "the signature verifies over the raw body");
      assert.equal(await verify("not-the-secret", r.body, signature), false);
      assert.equal(r.headers["x-mesh-six-event"], bodyOf(r).event);
      assert.equal(r.headers["x-mesh-six-delivery"], bodyOf(r).deliveryId);
      assert.equal(r.headers["content-type"], "application/json");
    }
    const byKind = Object.fromEntries(
      hook.received.filter((r) => bodyOf(r).data.runKind !== "drift-check").map((r) => [bodyOf(r).event, bodyOf(r)]),
    );
    assert.equal(byKind["run.waiting-for-auth"].link, `${srv.config.publicUrl}/v1/runs/${waiting.runId}`);
    assert.match(String(byKind["run.waiting-for-auth"].data.userCode), /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(byKind["run.succeeded"].data.runId, waiting.runId);
    assert.equal(byKind["run.failed"].data.reason, "the cluster said no");
    assert.equal(byKind["drift.detected"].link, `${srv.config.publicUrl}/v1/runs/${driftRunId}`);
    assert.equal(byKind["task.exhausted"].data.taskId, taskId);
    assert.equal(byKind["webhook.failed"].data.deliveryId, broken.deliveryId);

    // ntfy got the JSON publish form at its root, the link as the click action.
    const messages = ntfy.received.map((r) => r.message);
    assert.ok(messages.every((m) => m.topic === "mesh-six-ops" && m.event === "message"));
    const failedMessage = messages.find((m) => m.tags?.includes("x"));
    assert.equal(failedMessage?.click, `${srv.config.publicUrl}/v1/runs/${failing.runId}`);
    assert.equal(failedMessage?.priority, 4);
    assert.match(failedMessage?.title ?? "", new RegExp(`of ${repo.owner}/${repo.repo} failed$`));
    assert.equal(failedMessage?.message, "step up: the cluster said no");
    assert.ok(messages.some((m) => m.click === `${srv.config.publicUrl}/v1/runs/${waiting.runId}` && m.tags?.includes("white_check_mark")));

    // Kinds and repositories filter at write time: the failures-only webhook got exactly one, the other repo's none.
    assert.deepEqual(
      failuresOnly.received.map((r) => bodyOf(r).event),
      ["run.failed"],
    );
    assert.deepEqual(await ledger(srv, elsewhere.id), []);
    assert.equal(otherRepo.received.length, 0);
    assert.equal((await ledger(srv, onlyFailures.id)).length, 1);

    // The API shows each subscription's ledger; deleting one cancels what it still had pending.
    const shown = (await (await srv.request(`/v1/subscriptions/${topic.id}/deliveries`)).json()) as { deliveries: { status: string }[] };
    assert.equal(shown.deliveries.length, 7);
    assert.ok(shown.deliveries.every((d) => d.status === "delivered"));
    // The whole ledger, for viewers too: no URL, topic or secret in it.
    const whole = await srv.request("/v1/notifications", { token: viewer.token });
    assert.equal(whole.status, 200);
    const wholeText = await whole.text();
    assert.equal((JSON.parse(wholeText) as { deliveries: unknown[] }).deliveries.length, 7 + 7 + 1);
    assert.doesNotMatch(wholeText, /127\.0\.0\.1|mesh-six-ops/);
    assert.equal((await srv.request(`/v1/subscriptions/${global.id}`, { method: "DELETE" })).status, 204);
    assert.equal((await srv.request(`/v1/subscriptions/${global.id}`, { method: "DELETE" })).status, 404);
    assert.equal(JSON.parse(await (await srv.request("/v1/subscriptions")).text()).subscriptions.length, 3);
  }
});

test("bad subscriptions are 400 naming the field; a webhook without Vault is 503", async (t) => {
  const srv = await kept(t, startTestServer({ startQueue: false, startDispatcher: false }));
  {
    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await srv.request("/v1/subscriptions", { method: "POST", json: body });
      assert.equal(res.status, 400);
      const json = (await res.json()) as { error: string; issues: { field: string }[] };
      assert.equal(json.error, "invalid_request");
      assert.ok(
        json.issues.some((i) => i.field === field),
        `${JSON.stringify(json.issues)} names ${field}`,
      );
    };
    await bad({ channel: "ntfy", url: "http://ntfy.example", events: ["run.failed"] }, "topic");
    await bad({ channel: "webhook", url: "ftp://x.example", events: ["run.failed"] }, "url");
    await bad({ channel: "webhook", url: "http://x.example", events: [] }, "events");
    await bad({ channel: "webhook", url: "http://x.example", events: ["run.exploded"] }, "events.0");
    await bad({ channel: "webhook", url: "http://x.example", owner: "acme", events: ["run.failed"] }, "repo");
    const res = await srv.request("/v1/subscriptions", {
      method: "POST",
      json: { channel: "webhook", url: "http://x.example", events: ["run.failed"] },
    });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: "secret_store_not_configured" });
  }
});

test("a slow receiver and one that is down delay no one else, and neither a restart of the workers nor a dead one loses anything", async (t) => {
  const fast = await kept(t, startReceiver());
  const slow = await kept(t, startReceiver("slow"));
  const flaky = await kept(t, startReceiver());
  const ntfy = await kept(t, startNtfyEmulator());
  const runner = new ScriptedRunner();
  const srv = await kept(t, startTestServer({ runner, config: { ...NOTIFY, webhooks: webhookConfig() } }));
  {
    const events = ["run.succeeded", "run.failed"];
    const subs = {
      fast: await subscribe(srv, { channel: "webhook", url: fast.url, events }),
      slow: await subscribe(srv, { channel: "webhook", url: slow.url, events }),
      flaky: await subscribe(srv, { channel: "webhook", url: flaky.url, events }),
      ntfy: await subscribe(srv, { channel: "ntfy", url: ntfy.url, topic: "ops", events }),
    };
    await flaky.down();
    runner.on("acme.fails", { failAt: { step: "up", message: "no" } });
    const runs: string[] = [];
    for (const repo of ["one", "two", "fails"]) {
      const { runId } = await onboard(srv, { owner: "acme", repo, skipAuth: true });
      runs.push(runId);
      await waitForStatus(srv, runId, ["succeeded", "failed"]);
    }

    // The fast receiver and ntfy have all three while the slow one times out and the flaky one is unreachable.
    const landed = async (sub: { id: string }, n: number) =>
      (await ledger(srv, sub.id)).filter((d) => d.status === "delivered").length >= n;
    await waitFor(async () => (await landed(subs.fast, 3)) && (await landed(subs.ntfy, 3)), "the fast receivers", 5000);
    for (const d of await ledger(srv, subs.fast.id)) {
      assert.equal(d.status, "delivered");
      assert.ok(d.deliveredAt!.getTime() - d.createdAt.getTime() < 1000, "delivered within a second of the event");
    }
    await waitFor(async () => (await ledger(srv, subs.slow.id)).some((d) => d.attempts.some((a) => a.outcome === "timeout")), "a timeout");
    await waitFor(
      async () => (await ledger(srv, subs.flaky.id)).some((d) => d.attempts.some((a) => a.outcome === "unreachable")),
      "an unreachable try",
    );
    assert.ok((await ledger(srv, subs.slow.id)).every((d) => d.status === "pending"));
    const metrics = await (await srv.request("/metrics", { token: null })).text();
    const pending = Number(/^mesh_six_notifications_pending\{channel="webhook"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(pending >= 2, `the slow and the down receivers' deliveries show as pending (${pending})`);
    assert.match(metrics, /^mesh_six_notifications_pending\{channel="ntfy"\} 0$/m);

    // The workers stop (a replica goes away); events keep coming while none runs; new workers on the same
    // database take over. Meanwhile the flaky receiver comes back failing (503), then recovers.
    await srv.app.notifier.stop();
    for (const repo of ["three", "four"]) {
      const { runId } = await onboard(srv, { owner: "acme", repo, skipAuth: true });
      runs.push(runId);
      await waitForStatus(srv, runId, "succeeded");
    }
    // A worker that dies holding a claim leaves just this: a delivery under its lease and an attempt never ended.
    const abandoned = await claimDelivery(srv.db.pool, "gone-host/1/dead/notify", 200);
    assert.ok(abandoned, "a delivery was due");
    flaky.behaviour = "fail";
    await flaky.up();
    const second = createWorkers({
      db: srv.db.pool,
      runner: runner as StackRunner,
      config: srv.config,
      metrics: createMetrics(srv.db.pool),
      log: quietLogger(),
    });
    second.notifier.start();
    t.after(() => second.notifier.stop());
    await waitFor(
      async () => (await ledger(srv, subs.flaky.id)).some((d) => d.attempts.some((a) => a.httpStatus === 503)),
      "a 503 from the flaky one",
    );
    flaky.behaviour = "ok";
    slow.behaviour = "ok";

    await waitFor(async () => (await ledger(srv)).every((d) => d.status === "delivered"), "every delivery to be delivered", 10_000);
    const all = await ledger(srv);
    assert.equal(all.length, 5 * 4, "five events, four subscriptions each");
    for (const [name, sub] of Object.entries(subs)) {
      const mine = all.filter((d) => d.subscriptionId === sub.id);
      assert.equal(new Set(mine.map((d) => d.eventId)).size, 5, `${name} got every event`);
    }
    // Each receiver saw each delivery (a timed-out request may have arrived as well: at least once).
    for (const [name, r] of [
      ["fast", fast],
      ["slow", slow],
      ["flaky", flaky],
    ] as const) {
      const ids = new Set(r.received.map((x) => bodyOf(x).deliveryId));
      const sub = subs[name];
      for (const d of all.filter((x) => x.subscriptionId === sub.id)) assert.ok(ids.has(d.deliveryId), `${name} received ${d.deliveryId}`);
    }
    assert.equal(fast.received.length, 5, "the fast receiver got each exactly once");
    const taken = all.find((d) => d.deliveryId === abandoned.deliveryId)!;
    assert.equal(taken.attempts[0].worker, "gone-host/1/dead/notify");
    assert.equal(taken.attempts[0].outcome, "interrupted", "the dead worker's attempt is closed when its lease lapsed and another took it");
    assert.equal(taken.attempts.at(-1)?.outcome, "delivered");
    const workers = new Set(all.flatMap((d) => d.attempts.map((a) => a.worker)));
    assert.ok(workers.has(second.notifier.workerId) && workers.has(srv.app.notifier.workerId), "both workers delivered");

    printLedger(all, subs, {
      "worker-1": srv.app.notifier.workerId,
      "worker-2": second.notifier.workerId,
      dead: "gone-host/1/dead/notify",
    });
  }
});

/** The ledger as the report shows it: per delivery, event, channel, and each attempt: sent, ended, how, by which worker. */
function printLedger(all: LedgerEntry[], subs: Record<string, { id: string }>, workers: Record<string, string>): void {
  const names = new Map(Object.entries(subs).map(([name, s]) => [s.id, name]));
  const workerNames = new Map(Object.entries(workers).map(([name, id]) => [id, name]));
  const t0 = Math.min(...all.map((d) => d.createdAt.getTime()));
  const ms = (d: Date | null) => (d ? `+${d.getTime() - t0}ms` : "-");
  const lines = [...all]
    .sort(
      (a, b) =>
        Number(a.eventId) - Number(b.eventId) || (names.get(a.subscriptionId) ?? "").localeCompare(names.get(b.subscriptionId) ?? ""),
    )
    .map((d) => {
      const tries = d.attempts
        .map(
          (a) =>
            `#${a.attempt} ${workerNames.get(a.worker) ?? a.worker} sent ${ms(a.sentAt)} ended ${ms(a.finishedAt)} ${a.outcome}${a.httpStatus ? ` ${a.httpStatus}` : ""}`,
        )
        .join("; ");
      const head = `event ${d.eventId} ${d.kind.padEnd(13)} ${`${d.channel}:${names.get(d.subscriptionId)}`.padEnd(13)} ${d.status}`;
      return `${head} attempts ${String(d.attempts.length).padStart(2)} created ${ms(d.createdAt)} delivered ${ms(d.deliveredAt)} | ${tries}`;
    });
  console.log(["notification ledger (times from the first event):", ...lines].join("\n"));
}
