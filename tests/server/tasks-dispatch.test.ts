import assert from "node:assert/strict";
import { test } from "node:test";
import { Dispatcher } from "../../dispatch/dispatcher";
import { claimTasks } from "../../dispatch/task-store";
import { createTask, getTask, registerAgent, registerRepo, startAgent, type TestAgent } from "../../testkit/agents";
import { startTestServer, type TestServer, waitFor } from "../../testkit/server";
import { quietLogger } from "../../testkit/log-capture";

// Fast retries for tests: full-jitter waits of at most 10, 20, 40… ms.
const CONFIG = { taskRetryBaseMs: 10, taskRetryMaxMs: 50 };

async function withServer(
  agents: TestAgent[],
  body: (srv: TestServer) => Promise<void>,
  config: Record<string, unknown> = {},
): Promise<void> {
  const srv = await startTestServer({ startQueue: false, config: { ...CONFIG, ...config } });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    await body(srv);
  } finally {
    await srv.close();
    await Promise.all(agents.map((a) => a.close()));
  }
}

function finished(srv: TestServer, id: string, statuses: string[] = ["delivered", "succeeded", "failed", "exhausted"]) {
  return waitFor(
    async () => {
      const t = await getTask(srv, id);
      return statuses.includes(t.deliveryStatus) ? t : undefined;
    },
    `task ${id} to be ${statuses.join("|")}`,
  );
}

test("capability routing picks the healthy agent with the higher weight", async () => {
  const low = await startAgent();
  const high = await startAgent();
  const other = await startAgent();
  await withServer([low, high, other], async (srv) => {
    await registerAgent(srv, "low", low.url, { implement: 1 });
    await registerAgent(srv, "high", high.url, { implement: 5 });
    await registerAgent(srv, "other", other.url, { review: 10 });
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { issue: 1 } });
    const task = await finished(srv, id);
    assert.equal(task.deliveryStatus, "delivered");
    assert.equal(high.received.length, 1);
    assert.equal(low.received.length + other.received.length, 0);
    assert.equal(task.attempts[0].agentName, "high");
  });
});

test("an agent whose heartbeat is older than the staleness window is skipped", async () => {
  const stale = await startAgent();
  const fresh = await startAgent();
  await withServer([stale, fresh], async (srv) => {
    const staleId = await registerAgent(srv, "stale", stale.url, { implement: 10 });
    await registerAgent(srv, "fresh", fresh.url, { implement: 1 });
    await srv.db.pool.query("UPDATE agents SET last_heartbeat_at = now() - interval '61 seconds' WHERE id = $1", [staleId]);
    const listed = (await (await srv.request("/v1/agents")).json()) as { agents: { name: string; healthy: boolean }[] };
    assert.deepEqual(
      listed.agents.map((a) => [a.name, a.healthy]),
      [
        ["stale", false],
        ["fresh", true],
      ],
    );
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: {} });
    await finished(srv, id);
    assert.equal(stale.received.length, 0);
    assert.equal(fresh.received.length, 1);
  });
});

test("a column another replica's migration adds to tasks or audit_log does not stop this one's prepared statements", async () => {
  const agent = await startAgent();
  await withServer([agent], async (srv) => {
    await registerAgent(srv, "impl", agent.url, { implement: 1 });
    // Each hot statement prepared on the connections that run it.
    for (let i = 0; i < 3; i++)
      await finished(srv, await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { i } }));
    // A rolling update: the next version's migration, while this process runs with its statements prepared.
    await srv.db.pool.query("ALTER TABLE tasks ADD COLUMN added_by_next_version text");
    await srv.db.pool.query("ALTER TABLE audit_log ADD COLUMN added_by_next_version text");
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push(await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { after: i } }));
    for (const id of ids) assert.equal((await finished(srv, id)).deliveryStatus, "delivered");
    assert.equal(agent.received.length, 6);
    assert.deepEqual(
      srv.logEntries().filter((e) => e.level === "error" || e.level === "warn"),
      [],
      "no claim, attempt or mark failed",
    );
  });
});

test("the authProjectId delivered is the task's repo's, from the registry", async () => {
  const agent = await startAgent();
  await withServer([agent], async (srv) => {
    await registerRepo(srv, "acme", "gadgets", "proj-gadgets");
    await registerAgent(srv, "impl", agent.url, { implement: 1 });
    const a = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { n: 1 } });
    const b = await createTask(srv, { capability: "implement", owner: "acme", repo: "gadgets", payload: { n: 2 } });
    await finished(srv, a);
    await finished(srv, b);
    const byTask = new Map(agent.received.map((d) => [d.body.taskId, d.body]));
    assert.equal(byTask.get(a)?.authProjectId, "proj-widgets");
    assert.equal(byTask.get(a)?.repo, "acme/widgets");
    assert.equal(byTask.get(b)?.authProjectId, "proj-gadgets");
    assert.equal(byTask.get(b)?.repo, "acme/gadgets");
  });
});

test("a failing agent's task is retried at another agent with the byte-identical payload, priority and timeout", async () => {
  const failing = await startAgent("fail");
  const good = await startAgent();
  await withServer([failing, good], async (srv) => {
    await registerAgent(srv, "failing", failing.url, { implement: 10 });
    await registerAgent(srv, "good", good.url, { implement: 1 });
    const payload = { issue: 12, title: "Fix the ünïcode", nested: { list: [1, 2.5, "three"], flag: true, none: null } };
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload, priority: 7, timeoutMs: 4321 });
    const task = await finished(srv, id, ["delivered"]);
    assert.equal(failing.received.length, 1);
    assert.equal(good.received.length, 1);
    const [first, second] = [failing.received[0], good.received[0]];
    const payloadBytes = (raw: string) => JSON.stringify((JSON.parse(raw) as { payload: unknown }).payload);
    assert.equal(payloadBytes(second.raw), payloadBytes(first.raw));
    assert.equal(second.raw, first.raw, "the whole delivery is byte-identical");
    assert.deepEqual(second.body.payload, payload);
    assert.equal(second.body.priority, 7);
    assert.equal(second.body.timeoutMs, 4321);
    assert.deepEqual(
      task.attempts.map((a) => [a.agentName, a.outcome]),
      [
        ["failing", "http_error"],
        ["good", "delivered"],
      ],
    );
    assert.match(task.attempts[0].error ?? "", /HTTP 500/);
    assert.deepEqual(
      srv
        .logEntries()
        .filter((e) => e.component === "dispatch")
        .map((e) => [e.level, e.taskId, e.msg.replace(/next in \d+ ms/, "next in … ms")]),
      [["warn", id, "attempt 1 failed (agent failing answered HTTP 500); next in … ms"]],
      "the failed attempt is logged once, with its task's id",
    );
  });
});

test("an agent that does not answer within the task's timeout is timed out and the task retried", async () => {
  const hanging = await startAgent("hang");
  const good = await startAgent();
  await withServer([hanging, good], async (srv) => {
    await registerAgent(srv, "hanging", hanging.url, { implement: 10 });
    await registerAgent(srv, "good", good.url, { implement: 1 });
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { x: 1 }, timeoutMs: 200 });
    const task = await finished(srv, id, ["delivered"]);
    assert.deepEqual(
      task.attempts.map((a) => [a.agentName, a.outcome]),
      [
        ["hanging", "timeout"],
        ["good", "delivered"],
      ],
    );
    assert.match(task.attempts[0].error ?? "", /within 200 ms/);
    assert.equal(good.received[0].raw, hanging.received[0].raw);
  });
});

test("when the retry budget is spent the task is FAILED with the reason and every attempt listed", async () => {
  const a = await startAgent("fail");
  const b = await startAgent("fail");
  await withServer([a, b], async (srv) => {
    await registerAgent(srv, "a", a.url, { implement: 2 });
    await registerAgent(srv, "b", b.url, { implement: 1 });
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { y: 2 } });
    const task = await finished(srv, id, ["exhausted"]);
    assert.equal(task.state, "FAILED");
    assert.match(task.error ?? "", /retry budget spent: 4 of 4 attempts failed \(last: agent \w answered HTTP 500\)/);
    assert.equal(task.attempts.length, 4);
    assert.deepEqual(
      task.attempts.map((x) => x.outcome),
      ["http_error", "http_error", "http_error", "http_error"],
    );
    assert.deepEqual(
      task.attempts.slice(0, 2).map((x) => x.agentName),
      ["a", "b"],
      "an untried agent is preferred",
    );
    assert.ok(task.attempts.every((x) => x.finishedAt !== null));
    assert.equal(a.received.length + b.received.length, 4);
  });
});

test("a task no healthy agent can take is FAILED visibly with the reason", async () => {
  const reviewer = await startAgent();
  await withServer([reviewer], async (srv) => {
    await registerAgent(srv, "reviewer", reviewer.url, { review: 1 });
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: {} });
    const task = await finished(srv, id, ["exhausted"]);
    assert.equal(task.state, "FAILED");
    assert.equal(task.error, 'no healthy agent offers capability "implement"');
    assert.deepEqual(task.attempts, []);
    assert.equal(reviewer.received.length, 0);
  });
});

test("a task left delivering under a lapsed lease is delivered by a new dispatcher; a live lease is left alone", async () => {
  const agent = await startAgent();
  const srv = await startTestServer({ startQueue: false, startDispatcher: false, config: CONFIG });
  const dispatcher = new Dispatcher({ pool: srv.db.pool, pollMs: 20, retryBaseMs: 10, log: quietLogger() });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    const agentId = await registerAgent(srv, "impl", agent.url, { implement: 1 });
    const lapsed = await createTask(srv, {
      capability: "implement",
      owner: "acme",
      repo: "widgets",
      payload: { p: "lapsed" },
      priority: 3,
      timeoutMs: 999,
    });
    const live = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { p: "live" } });
    // What a dispatcher that died mid-delivery leaves behind, and one that is still delivering elsewhere.
    await srv.db.pool.query(
      `UPDATE tasks SET delivery_status = 'delivering', attempts = 1, lease_owner = 'dead-worker', lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [lapsed],
    );
    await srv.db.pool.query("INSERT INTO task_attempts (task_id, attempt, agent_id) VALUES ($1, 1, $2)", [lapsed, agentId]);
    await srv.db.pool.query(
      `UPDATE tasks SET delivery_status = 'delivering', lease_owner = 'other-worker', lease_expires_at = now() + interval '1 minute' WHERE id = $1`,
      [live],
    );
    dispatcher.start();
    const task = await finished(srv, lapsed, ["delivered"]);
    assert.deepEqual(
      task.attempts.map((a) => [a.attempt, a.outcome]),
      [
        [1, "interrupted"],
        [2, "delivered"],
      ],
    );
    assert.equal(agent.received.length, 1);
    assert.deepEqual(agent.received[0].body.payload, { p: "lapsed" });
    assert.equal(agent.received[0].body.priority, 3);
    assert.equal(agent.received[0].body.timeoutMs, 999);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const untouched = await getTask(srv, live);
    assert.equal(untouched.deliveryStatus, "delivering");
    assert.ok(!agent.received.some((d) => d.body.taskId === live), "a task under another dispatcher's live lease is not delivered twice");
  } finally {
    await dispatcher.stop();
    await srv.close();
    await agent.close();
  }
});

test("a delivered task whose result does not arrive within its timeout is retried", async () => {
  const silent = await startAgent();
  const other = await startAgent();
  await withServer([silent, other], async (srv) => {
    await registerAgent(srv, "silent", silent.url, { implement: 10 });
    await registerAgent(srv, "other", other.url, { implement: 1 });
    const id = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { z: 3 }, timeoutMs: 300 });
    const task = await waitFor(async () => {
      const t = await getTask(srv, id);
      return t.attempts.length === 2 && t.deliveryStatus === "delivered" ? t : undefined;
    }, "a second delivery");
    assert.deepEqual(
      task.attempts.map((a) => [a.agentName, a.outcome]),
      [
        ["silent", "timeout"],
        ["other", "delivered"],
      ],
    );
    assert.equal(other.received[0].raw, silent.received[0].raw);
  });
});

test("two dispatchers on one database deliver each task exactly once", async () => {
  const agent = await startAgent();
  const srv = await startTestServer({ startQueue: false, startDispatcher: false, config: CONFIG });
  const dispatchers = [1, 2].map((n) => new Dispatcher({ pool: srv.db.pool, pollMs: 5, workerId: `d${n}`, log: quietLogger() }));
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    await registerAgent(srv, "impl", agent.url, { implement: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { i } }));
    for (const d of dispatchers) d.start();
    await waitFor(async () => {
      const { rows } = await srv.db.pool.query("SELECT count(*)::int AS n FROM tasks WHERE delivery_status = 'delivered'");
      return rows[0].n === ids.length;
    }, "every task to be delivered");
    assert.deepEqual(agent.received.map((d) => d.body.taskId).sort(), [...ids].sort(), "each task delivered once");
    const { rows } = await srv.db.pool.query("SELECT count(*)::int AS n FROM task_attempts");
    assert.equal(rows[0].n, ids.length);
  } finally {
    await Promise.all(dispatchers.map((d) => d.stop()));
    await srv.close();
    await agent.close();
  }
});

test("tasks claimed together in one statement are spread over equal agents, each delivered once", async () => {
  const agents = [await startAgent("hang"), await startAgent("hang")];
  const srv = await startTestServer({ startQueue: false, startDispatcher: false, config: CONFIG });
  const dispatcher = new Dispatcher({ pool: srv.db.pool, pollMs: 10_000, concurrency: 4, workerId: "batch", log: quietLogger() });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    for (const [i, a] of agents.entries()) await registerAgent(srv, `impl-${i}`, a.url, { implement: 1 });
    for (let i = 0; i < 4; i++)
      await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { i }, timeoutMs: 60_000 });
    // All four are due before the dispatcher's first claim, which takes them together: no open attempt yet, so
    // only the claim's own count of what it gave out can spread them.
    dispatcher.start();
    await waitFor(() => agents[0].received.length + agents[1].received.length === 4, "four deliveries");
    assert.deepEqual(
      agents.map((a) => a.received.length),
      [2, 2],
    );
    const { rows } = await srv.db.pool.query("SELECT count(DISTINCT task_id)::int AS n FROM task_attempts");
    assert.equal(rows[0].n, 4);
  } finally {
    await dispatcher.stop();
    await srv.close();
    await Promise.all(agents.map((a) => a.close()));
  }
});

test("a server delivers at most its dispatch concurrency of tasks at once; the rest wait their turn", async () => {
  const hanging = await startAgent("hang");
  await withServer(
    [hanging],
    async (srv) => {
      await registerAgent(srv, "hanging", hanging.url, { implement: 1 });
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { i }, timeoutMs: 60_000 }));
      await waitFor(() => hanging.received.length >= 2, "two deliveries in flight");
      // Long enough for the dispatcher to claim more if it would (it polls every 50 ms here).
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(hanging.received.length, 2);
      const statuses = (await Promise.all(ids.map((id) => getTask(srv, id)))).map((t) => t.deliveryStatus).sort();
      assert.deepEqual(statuses, ["delivering", "delivering", "pending", "pending", "pending", "pending"]);
    },
    { dispatchConcurrency: 2 },
  );
});

test("a FAILED task moved back to INTAKE is delivered again, as stored, with a fresh retry budget", async () => {
  const agent = await startAgent("fail");
  await withServer(
    [agent],
    async (srv) => {
      await registerAgent(srv, "flaky", agent.url, { implement: 1 });
      const id = await createTask(srv, {
        capability: "implement",
        owner: "acme",
        repo: "widgets",
        payload: { issue: 7 },
        priority: 3,
        timeoutMs: 5_000,
      });
      const retry = () => srv.request(`/v1/tasks/${id}/transition`, { method: "POST", json: { to: "INTAKE" } });

      const spent = await finished(srv, id, ["exhausted"]);
      assert.equal(spent.state, "FAILED");
      assert.equal(spent.attempts.length, 2);

      // Still failing: the second round has a budget of its own (2 more attempts), not the first one's remainder.
      const res = await retry();
      assert.equal(res.status, 200);
      const moved = (await res.json()) as { state: string; deliveryStatus: string; error: string | null };
      assert.deepEqual([moved.state, moved.deliveryStatus, moved.error], ["INTAKE", "pending", null]);
      const again = await finished(srv, id, ["exhausted"]);
      assert.match(again.error ?? "", /retry budget spent: 2 of 2 attempts failed/);
      assert.deepEqual(
        again.attempts.map((a) => a.attempt),
        [1, 2, 3, 4],
        "earlier attempts stay listed, numbers stay unique",
      );

      agent.behaviour = "accept";
      assert.equal((await retry()).status, 200);
      const delivered = await finished(srv, id, ["delivered"]);
      assert.deepEqual(
        delivered.attempts.map((a) => a.outcome),
        ["http_error", "http_error", "http_error", "http_error", "delivered"],
      );
      assert.equal(agent.received.length, 5);
      assert.ok(
        agent.received.every((d) => d.raw === agent.received[0].raw),
        "every round delivers the task exactly as stored",
      );
      assert.deepEqual(
        [agent.received[4].body.payload, agent.received[4].body.priority, agent.received[4].body.timeoutMs],
        [{ issue: 7 }, 3, 5_000],
      );

      // A task whose delivery is still under way is only moved, not delivered twice.
      const other = await createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { issue: 8 } });
      await finished(srv, other, ["delivered"]);
      assert.equal((await srv.request(`/v1/tasks/${other}/transition`, { method: "POST", json: { to: "FAILED" } })).status, 200);
      const back = await srv.request(`/v1/tasks/${other}/transition`, { method: "POST", json: { to: "INTAKE" } });
      assert.equal(((await back.json()) as { deliveryStatus: string }).deliveryStatus, "delivered");
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(agent.received.filter((d) => d.body.taskId === other).length, 1);
    },
    { taskMaxAttempts: 2 },
  );
});

test("a claim marks delivered the tasks it is given, only under their owner's lease, and claims none of them", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false, config: CONFIG });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    const agentId = await registerAgent(srv, "impl", "http://127.0.0.1:9/tasks", { implement: 1 });
    const task = (p: string) => createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { p } });
    const [ours, theirs, lapsed, pending] = [await task("ours"), await task("theirs"), await task("lapsed"), await task("pending")];
    const hold = (id: string, owner: string, until: string) =>
      srv.db.pool.query(
        `WITH t AS (UPDATE tasks SET delivery_status = 'delivering', attempts = 1, lease_owner = $2, lease_expires_at = now() + $3::interval WHERE id = $1 RETURNING id)
         INSERT INTO task_attempts (task_id, attempt, agent_id) SELECT id, 1, $4 FROM t`,
        [id, owner, until, agentId],
      );
    await hold(ours, "me", "1 minute");
    await hold(theirs, "someone-else", "1 minute");
    // Ours, though its lease lapsed: marked (the lease is still ours), and not claimed back by the same statement.
    await hold(lapsed, "me", "-1 second");
    const marks = [ours, theirs, lapsed].map((taskId) => ({ taskId, attempt: 1 }));
    const claimed = await claimTasks(srv.db.pool, "me", 30_000, 10, 60_000, marks);
    assert.deepEqual(
      claimed.map((c) => c.task.id),
      [pending],
    );
    const states = await srv.db.pool.query<{ id: string; delivery_status: string; lease_owner: string | null; outcome: string | null }>(
      "SELECT t.id, t.delivery_status, t.lease_owner, a.outcome FROM tasks t LEFT JOIN task_attempts a ON a.task_id = t.id WHERE t.id <> $1",
      [pending],
    );
    const by = new Map(states.rows.map((r) => [r.id, [r.delivery_status, r.lease_owner, r.outcome]]));
    assert.deepEqual(by.get(ours), ["delivered", null, "delivered"]);
    assert.deepEqual(by.get(lapsed), ["delivered", null, "delivered"]);
    assert.deepEqual(by.get(theirs), ["delivering", "someone-else", null], "another dispatcher's task is left alone");
  } finally {
    await srv.close();
  }
});

test("a claim takes the most urgent of the due and the lapsed together, up to its limit; a task not yet due waits", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false, config: CONFIG });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    const task = (p: string, priority: number) =>
      createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { p }, priority });
    // A backlog behind them: the claim must not take it in place of more urgent work, whichever index holds that.
    for (let i = 0; i < 20; i++) await task(`backlog-${i}`, 0);
    const [later, lapsedUrgent, dueUrgent, lapsedLow, dueSecond] = [
      await task("later", 9),
      await task("lapsed-urgent", 8),
      await task("due-urgent", 7),
      await task("lapsed-low", 0),
      await task("due-second", 5),
    ];
    await srv.db.pool.query("UPDATE tasks SET next_attempt_at = now() + interval '1 hour' WHERE id = $1", [later]);
    await srv.db.pool.query(
      `UPDATE tasks SET delivery_status = 'delivering', lease_owner = 'dead-worker', lease_expires_at = now() - interval '1 second'
       WHERE id = ANY($1::uuid[])`,
      [[lapsedUrgent, lapsedLow]],
    );
    const first = await claimTasks(srv.db.pool, "me", 30_000, 3, 60_000);
    assert.deepEqual(
      first.map((c) => [c.task.id, c.previous]),
      [
        [lapsedUrgent, "delivering"],
        [dueUrgent, "pending"],
        [dueSecond, "pending"],
      ],
    );
    // The rest in order: the oldest of equal priority first, the lapsed among them, the task not yet due never.
    const rest = await claimTasks(srv.db.pool, "me", 30_000, 100, 60_000);
    assert.equal(rest.length, 21);
    assert.equal(rest[0].task.payload && (rest[0].task.payload as { p: string }).p, "backlog-0");
    assert.ok(rest.some((c) => c.task.id === lapsedLow && c.previous === "delivering"));
    assert.ok(!rest.some((c) => c.task.id === later));
    const createdAt = rest.map((c) => c.task.createdAt.getTime());
    assert.deepEqual(
      createdAt,
      [...createdAt].sort((a, b) => a - b),
    );
  } finally {
    await srv.close();
  }
});

test("a dispatcher that stops leaves none of its tasks delivering: each the agent took is recorded as delivered", async () => {
  const agent = await startAgent();
  const srv = await startTestServer({ startQueue: false, startDispatcher: false, config: CONFIG });
  const dispatcher = new Dispatcher({ pool: srv.db.pool, pollMs: 20, log: quietLogger() });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    await registerAgent(srv, "impl", agent.url, { implement: 1 });
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createTask(srv, { capability: "implement", owner: "acme", repo: "widgets", payload: { i } })),
    );
    dispatcher.start();
    await waitFor(() => agent.received.length > 0, "a first delivery");
    await dispatcher.stop();
    // None is left delivering for its lease to lapse: each one the agent took is delivered (or, taken as the stop
    // aborted its POST, interrupted and pending again), the others are pending.
    const { rows } = await srv.db.pool.query<{ id: string; delivery_status: string }>(
      "SELECT id, delivery_status FROM tasks WHERE id = ANY($1::uuid[])",
      [ids],
    );
    const reached = new Set(agent.received.map((d) => d.body.taskId));
    for (const r of rows)
      assert.ok(
        (reached.has(r.id) ? ["delivered", "pending"] : ["pending"]).includes(r.delivery_status),
        `task ${r.id}: ${r.delivery_status}`,
      );
    assert.ok(rows.some((r) => r.delivery_status === "delivered"));
  } finally {
    await dispatcher.stop();
    await srv.close();
    await agent.close();
  }
});
