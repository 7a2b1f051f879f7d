// The repo's agent settings in its auth project (providers/agent-settings.ts), its provider run as Pulumi runs it
// (serialized, in a plain Node.js process) against the stateful stand-in of the auth service's project API:
// only the keys the stack owns change, keys of others stay, a key dropped from the request goes, offboarding
// takes the stack's keys away and leaves the project.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { agentSettingsProvider, mergeOwnedSettings } from "../../providers/agent-settings";
import { type AuthService, startAuthService } from "../../testkit/oauth-server";
import { type SerializedProvider, serializedProvider } from "../../testkit/serialized-provider";

let service: AuthService;
let provider: SerializedProvider;

before(async () => {
  service = await startAuthService();
  provider = await serializedProvider(agentSettingsProvider, { MESH_SIX_AUTH_SERVICE_URL: service.url });
  // The cases after the first call the provider in this process: each serialized call costs a process start.
  process.env.MESH_SIX_AUTH_SERVICE_URL = service.url;
});

after(async () => {
  await provider.close();
  await service.close();
});

/** The project's settings as the service holds them (what the agents' bundle gets). */
const settingsOf = (id: string) => {
  const text = service.projects.get(id)?.settingsJson;
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
};

/** A project someone else made, with settings of their own. */
function seedProject(id: string, settings: Record<string, unknown>) {
  const now = new Date().toISOString();
  service.projects.set(id, { id, displayName: "made by hand", settingsJson: JSON.stringify(settings), createdAt: now, updatedAt: now });
}

const direct = agentSettingsProvider;

const rows: { step: string; settings: string }[] = [];
const record = (step: string, id: string) => rows.push({ step, settings: JSON.stringify(settingsOf(id) ?? null) });

test("onboard merges the repo's keys, re-onboard changes and removes only its own, offboard takes its keys away", async () => {
  const id = "proj-widgets";
  seedProject(id, { theme: "light", permissions: { allow: ["Read"] } });
  record("before onboard (keys of others)", id);

  const first = { projectId: id, displayName: "acme/widgets", settings: { model: "opus", skipDangerousModePermissionPrompt: true } };
  const created = (await provider.call("create", first)) as { id: string; outs: typeof first };
  assert.deepEqual(created, { id, outs: first });
  assert.deepEqual(settingsOf(id), {
    theme: "light",
    permissions: { allow: ["Read"] },
    model: "opus",
    skipDangerousModePermissionPrompt: true,
  });
  record("after onboard", id);

  // Someone changes a key of theirs meanwhile: it is not ours, and stays as they left it.
  seedProject(id, { ...settingsOf(id), theme: "dark" });
  record("someone else changes their theme", id);
  const second = { ...first, settings: { model: "sonnet", includeCoAuthoredBy: false } };
  const diff = (await provider.call("diff", id, created.outs, second)) as { changes: boolean; replaces: string[] };
  assert.deepEqual([diff.changes, diff.replaces], [true, []]);
  await provider.call("update", id, created.outs, second);
  // model changed, skipDangerousModePermissionPrompt (dropped from the request) removed, includeCoAuthoredBy added.
  assert.deepEqual(settingsOf(id), { theme: "dark", permissions: { allow: ["Read"] }, model: "sonnet", includeCoAuthoredBy: false });
  record("after re-onboard (model changed, a key dropped, one added)", id);

  // A key of ours changed by hand shows in read(), so the next up (which refreshes first) puts it back.
  seedProject(id, { ...settingsOf(id), model: "haiku" });
  const read = (await provider.call("read", id, second)) as { id: string; props: typeof second };
  assert.deepEqual(read, { id, props: { ...second, settings: { model: "haiku", includeCoAuthoredBy: false } } });
  assert.equal(((await provider.call("diff", id, read.props, second)) as { changes: boolean }).changes, true);
  await provider.call("update", id, read.props, second);
  assert.equal(settingsOf(id)?.model, "sonnet");

  // Nothing to change: no write at all.
  const before = service.projects.get(id)!.updatedAt;
  await provider.call("update", id, second, second);
  assert.equal(service.projects.get(id)!.updatedAt, before);

  await provider.call("delete", id, second);
  assert.deepEqual(settingsOf(id), { theme: "dark", permissions: { allow: ["Read"] } });
  assert.ok(service.projects.has(id), "the project stays: its credentials and the keys of others are not the repo's");
  record("after offboard", id);

  console.log(
    ["| step | the auth project's settingsJson |", "|---|---|", ...rows.map((r) => `| ${r.step} | \`${r.settings}\` |`)].join("\n"),
  );
});

test("a project the service lacks is created with the repo's keys; one gone before offboarding is nothing to remove", async () => {
  const inputs = { projectId: "proj-new", displayName: "acme/gadgets", settings: { model: "opus" } };
  await direct.create!(inputs);
  assert.equal(service.projects.get("proj-new")?.displayName, "acme/gadgets");
  assert.deepEqual(settingsOf("proj-new"), { model: "opus" });
  service.projects.delete("proj-new");
  assert.deepEqual(await direct.read!("proj-new", inputs), { id: "", props: {} });
  await direct.delete!("proj-new", inputs);
  assert.equal(service.projects.has("proj-new"), false, "offboarding does not make a project just to remove keys from it");
});

test("settings the service holds that are not a JSON object are refused rather than written over", async () => {
  const now = new Date().toISOString();
  service.projects.set("proj-broken", { id: "proj-broken", displayName: "x", settingsJson: "{not json", createdAt: now, updatedAt: now });
  await assert.rejects(
    direct.create!({ projectId: "proj-broken", displayName: "acme/x", settings: { model: "opus" } }),
    /proj-broken's settings are not a JSON object/,
  );
  assert.equal(service.projects.get("proj-broken")?.settingsJson, "{not json");
});

test("moving to another auth project replaces the resource: the keys go to the new project first", async () => {
  const diff = await direct.diff!(
    "a",
    { projectId: "a", displayName: "d", settings: {} },
    { projectId: "b", displayName: "d", settings: {} },
  );
  assert.deepEqual(diff.replaces, ["projectId"]);
  assert.notEqual(diff.deleteBeforeReplace, true);
});

test("the merge itself: desired keys set, keys owned before and no longer desired removed, others kept", () => {
  assert.deepEqual(mergeOwnedSettings({ a: 1, mine: 2, old: 3 }, ["mine", "old"], { mine: 4, added: 5 }), { a: 1, mine: 4, added: 5 });
  // A key of others that the repo starts to set becomes the repo's (it was asked to set it).
  assert.deepEqual(mergeOwnedSettings({ a: 1 }, [], { a: 2 }), { a: 2 });
});
