import assert from "node:assert/strict";
import { test } from "node:test";
import { getTask, registerAgent, registerRepo, startAgent } from "../../testkit/agents";
import { startTestServer, waitFor } from "../../testkit/server";

/**
 * A task's payload reaches the agent as the client wrote it: the same bytes, not a re-serialisation of a
 * parse (which reorders nothing in JS, but turns 12345678901234567890 into 12345678901234567000, 1e400 into
 * null, drops a duplicate key, and rewrites escapes and whitespace), on the first delivery and on every retry.
 */

const PAYLOADS = [
  `{ "zeta": 1,\n  "alpha": {"big": 12345678901234567890, "huge": 1e400, "precise": 0.1000000000000000055511151231257827, "neg0": -0, "exp": 1E+2},\n  "list": [3, 1, 2], "s": "caf\\u00e9 \\ud83d\\ude00 \\/", "dup": 1, "dup": 2 }`,
  `12345678901234567890`,
  `[1e400, {"b": 2, "a": 1}]`,
  `"plain \\u0041 string"`,
];

test("the payload is delivered byte for byte as the client sent it, on the first delivery and on a retry, and GET shows the same bytes", async () => {
  const agent = await startAgent("fail");
  const srv = await startTestServer({ startQueue: false, config: { taskRetryBaseMs: 10, taskRetryMaxMs: 50 } });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    await registerAgent(srv, "flaky", agent.url, { implement: 1 });
    for (const payload of PAYLOADS) {
      agent.behaviour = "fail";
      agent.received.length = 0;
      const body = `{"capability":"implement","owner":"acme","repo":"widgets","payload":${payload},"priority":3}`;
      const res = await srv.request("/v1/tasks", { method: "POST", headers: { "content-type": "application/json" }, body });
      assert.equal(res.status, 202, await res.clone().text());
      const { taskId } = (await res.json()) as { taskId: string };
      await waitFor(() => agent.received.length >= 1, "the first delivery");
      agent.behaviour = "accept";
      await waitFor(async () => (await getTask(srv, taskId)).deliveryStatus === "delivered", "the retry to be delivered");
      // At least one failed delivery (more when a retry came before the switch), then the accepted retry.
      assert.ok(agent.received.length >= 2, `${agent.received.length} deliveries`);
      for (const [i, delivery] of agent.received.entries()) {
        assert.ok(delivery.raw.includes(`"payload":${payload},`), `delivery ${i + 1} of ${payload}: ${delivery.raw}`);
        assert.equal(delivery.raw, agent.received[0].raw, `delivery ${i + 1} re-sends the same bytes`);
      }
      const shown = await (await srv.request(`/v1/tasks/${taskId}`)).text();
      assert.ok(shown.includes(`"payload":${payload},`), `GET /v1/tasks/${taskId}: ${shown}`);
    }
  } finally {
    await srv.close();
    await agent.close();
  }
});

test("a payload that is not JSON is refused; nothing is stored", async () => {
  const srv = await startTestServer({ startQueue: false, startDispatcher: false });
  try {
    await registerRepo(srv, "acme", "widgets", "proj-widgets");
    const res = await srv.request("/v1/tasks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"capability":"implement","owner":"acme","repo":"widgets","payload":NaN}`,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
    assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM tasks")).rows[0].n, 0);
  } finally {
    await srv.close();
  }
});
