import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { type LiteLLMFixture, startLiteLLMFixture } from "../../testkit/litellm-emulator";

// The LiteLLM emulator answers the admin endpoints the LiteLLM team resource calls in LiteLLM's documented shapes
// (see the header of emulators/litellm/server.ts), and keeps what they did.

let ll: LiteLLMFixture;
before(async () => {
  ll = await startLiteLLMFixture();
});
after(() => ll.close());

interface Team {
  team_id: string;
  team_alias: string;
  models: string[];
  max_budget: number | null;
  spend: number;
}
interface Generated {
  key: string;
  token: string;
  key_name: string;
  key_alias: string;
  team_id: string;
}
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

test("every endpoint wants the master key as a Bearer token and answers 401 in LiteLLM's error shape otherwise", async () => {
  for (const auth of [undefined, `Bearer sk-wrong`, ll.masterKey]) {
    const res = await fetch(`${ll.emulator.url}/team/list`, { headers: auth ? { Authorization: auth } : {} });
    assert.equal(res.status, 401, String(auth));
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    assert.equal(body.error.type, "auth_error");
    assert.equal(body.error.code, "401");
  }
  assert.equal((await ll.call("GET", "/team/list")).status, 200);
});

test("a team is created, updated in place, described with its keys, and deleted with them", async () => {
  const created = await ll.call<Team>("POST", "/team/new", { team_alias: "acme/widgets", models: ["gpt-4o"], max_budget: 10 });
  assert.equal(created.status, 200);
  assert.match(created.body.team_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(
    { alias: created.body.team_alias, models: created.body.models, budget: created.body.max_budget, spend: created.body.spend },
    { alias: "acme/widgets", models: ["gpt-4o"], budget: 10, spend: 0 },
  );
  const teamId = created.body.team_id;
  const dup = await ll.call<{ error: { message: string } }>("POST", "/team/new", { team_alias: "acme/widgets" });
  assert.equal(dup.status, 400);
  assert.match(dup.body.error.message, /already exists/);

  const updated = await ll.call<{ team_id: string; data: Team }>("POST", "/team/update", { team_id: teamId, max_budget: 25 });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.team_id, teamId);
  assert.equal(updated.body.data.max_budget, 25);
  assert.deepEqual(updated.body.data.models, ["gpt-4o"], "fields left out of an update stay as they were");

  const key = await ll.call<Generated>("POST", "/key/generate", { team_id: teamId, key_alias: "mesh-six:acme/widgets" });
  const info = await ll.call<{ team_id: string; team_info: Team; keys: { token: string; key?: string }[] }>(
    "GET",
    `/team/info?team_id=${teamId}`,
  );
  assert.equal(info.status, 200);
  assert.equal(info.body.team_info.max_budget, 25);
  assert.deepEqual(
    info.body.keys.map((k) => k.token),
    [key.body.token],
  );
  assert.equal(info.body.keys[0].key, undefined, "team/info never shows a key itself");

  const deleted = await ll.call<{ deleted_teams: string[] }>("POST", "/team/delete", { team_ids: [teamId] });
  assert.equal(deleted.status, 200);
  assert.equal((await ll.call("GET", `/team/info?team_id=${teamId}`)).status, 404);
  assert.equal((await ll.call("GET", `/key/info?key=${key.body.token}`)).status, 404, "the team's keys go with it");
  assert.equal((await ll.call("POST", "/team/delete", { team_ids: [teamId] })).status, 404);
  assert.equal((await ll.call("POST", "/team/update", { team_id: teamId, max_budget: 1 })).status, 400);
});

test("a key is generated for a team (its token the sha256 of the key), described, regenerated and deleted", async () => {
  const team = (await ll.call<Team>("POST", "/team/new", { team_alias: "acme/gadgets" })).body;
  const made = await ll.call<Generated>("POST", "/key/generate", { team_id: team.team_id, key_alias: "k-gadgets", metadata: { a: 1 } });
  assert.equal(made.status, 200);
  assert.match(made.body.key, /^sk-[A-Za-z0-9_-]{20,}$/);
  assert.equal(made.body.token, sha256(made.body.key));
  assert.equal(made.body.key_name, `sk-...${made.body.key.slice(-4)}`);
  assert.equal(made.body.team_id, team.team_id);
  assert.equal(
    (await ll.call("POST", "/key/generate", { team_id: team.team_id, key_alias: "k-gadgets" })).status,
    400,
    "aliases are unique",
  );
  assert.equal((await ll.call("POST", "/key/generate", { team_id: "no-such-team" })).status, 400);

  for (const given of [made.body.key, made.body.token]) {
    const info = await ll.call<{ key: string; info: { key_alias: string; team_id: string; key?: string } }>(
      "GET",
      `/key/info?key=${given}`,
    );
    assert.equal(info.status, 200);
    assert.equal(info.body.key, made.body.token);
    assert.deepEqual([info.body.info.key_alias, info.body.info.team_id, info.body.info.key], ["k-gadgets", team.team_id, undefined]);
  }

  const rotated = await ll.call<Generated>("POST", `/key/${made.body.token}/regenerate`, {});
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.key, made.body.key);
  assert.equal(rotated.body.token, sha256(rotated.body.key));
  assert.equal(rotated.body.key_alias, "k-gadgets");
  assert.equal((await ll.call("GET", `/key/info?key=${made.body.token}`)).status, 404, "the old key stops at once");

  assert.equal((await ll.call("POST", "/key/delete", { keys: ["sk-unknown"] })).status, 404);
  const deleted = await ll.call<{ deleted_keys: string[] }>("POST", "/key/delete", { keys: [rotated.body.token] });
  assert.deepEqual(deleted.body.deleted_keys, [rotated.body.token]);
  assert.equal((await ll.call("GET", `/key/info?key=${rotated.body.key}`)).status, 404);
});

test("bad bodies are 400s naming the field; unknown routes 404; the state dump masks keys to their last 4 characters", async () => {
  const bad = await ll.call<{ error: { param: string } }>("POST", "/team/new", { team_alias: "x", models: "gpt-4o" });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, "models");
  assert.equal((await ll.call("POST", "/team/delete", { team_ids: [] })).status, 400);
  assert.equal((await ll.call("GET", "/no/such/route")).status, 404);

  const team = (await ll.call<Team>("POST", "/team/new", { team_alias: "acme/dump" })).body;
  const key = (await ll.call<Generated>("POST", "/key/generate", { team_id: team.team_id, key_alias: "k-dump" })).body;
  const dump = await ll.call<{ keys: { key: string; token: string; key_alias: string }[] }>("GET", "/_emulator/state");
  const row = dump.body.keys.find((k) => k.key_alias === "k-dump")!;
  assert.equal(row.key, `****${key.key.slice(-4)}`);
  assert.ok(!JSON.stringify(dump.body).includes(key.key));
});
