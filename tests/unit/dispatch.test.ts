import assert from "node:assert/strict";
import { test } from "node:test";
import { fullJitterDelay, pickAgent } from "../../dispatch/dispatcher";
import type { Candidate } from "../../dispatch/task-store";

test("full-jitter backoff stays below a ceiling that doubles per retry up to the cap", () => {
  assert.equal(
    fullJitterDelay(1, 100, 10_000, () => 0.999),
    99,
  );
  assert.equal(
    fullJitterDelay(3, 100, 10_000, () => 0.999),
    399,
  );
  assert.equal(
    fullJitterDelay(20, 100, 10_000, () => 0.999),
    9990,
  );
  assert.equal(
    fullJitterDelay(5, 100, 10_000, () => 0),
    0,
  );
  for (let i = 0; i < 100; i++) assert.ok(fullJitterDelay(4, 100, 10_000) < 800);
});

function candidate(name: string, weight: number, over: Partial<Candidate> = {}): Candidate {
  const agent = {
    id: name,
    name,
    endpoint: "http://x",
    capabilities: {},
    githubLogin: null,
    lastHeartbeatAt: new Date(),
    registeredAt: new Date(0),
  };
  return { agent, weight, successes: 0, failures: 0, load: 0, tried: false, ...over };
}

test("the agent picked has the best weight × success rate ÷ load, untried agents first", () => {
  assert.equal(pickAgent([candidate("a", 1), candidate("b", 3)])?.agent.name, "b");
  assert.equal(
    pickAgent([candidate("a", 1), candidate("b", 3, { failures: 20 })])?.agent.name,
    "a",
    "a poor recent record lowers the score",
  );
  assert.equal(pickAgent([candidate("a", 1), candidate("b", 3, { load: 5 })])?.agent.name, "a", "a busy agent yields");
  assert.equal(pickAgent([candidate("a", 1), candidate("b", 3, { tried: true })])?.agent.name, "a", "an agent not yet tried is preferred");
  assert.equal(pickAgent([candidate("b", 3, { tried: true })])?.agent.name, "b", "a tried agent is still better than none");
  assert.equal(pickAgent([]), undefined);
});
