import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Stack } from "@pulumi/pulumi/automation";
import { selectRepoStack, workspaceSettings } from "../../pulumi/workspace";
import { type TestDatabase, createTestDatabase } from "../../testkit/database";
import { emulator, emulatorGraphql } from "../../testkit/github-emulator";

// A board the owner already has (same title) is adopted by the repo stack, not duplicated, and survives destroy.

const suffix = Date.now().toString(36);
const ref = { owner: "mesh-six-adopt", repo: `gadgets-${suffix}` };
const title = `Gadgets ${suffix} (mesh-six)`;
let stateDir: string;
let db: TestDatabase;
let stack: Stack;
let existingId: string;

async function boardsTitled(): Promise<string[]> {
  const data = await emulatorGraphql<{ organization: { projectsV2: { nodes: { id: string; title: string }[] } } }>(
    `query($login: String!, $q: String!) { organization(login: $login) { projectsV2(first: 50, query: $q) { nodes { id title } } } }`,
    { login: ref.owner, q: title },
  );
  return data.organization.projectsV2.nodes.filter((p) => p.title === title).map((p) => p.id);
}

before(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-adopt-"));
  db = await createTestDatabase("adopt");
  assert.equal(
    (await emulator("POST", "/_emulator/repos", { owner: ref.owner, name: ref.repo, owner_type: "Organization", auto_init: true })).status,
    201,
  );
  const repo = await emulatorGraphql<{ repository: { id: string; owner: { id: string } } }>(
    `query($o: String!, $n: String!) { repository(owner: $o, name: $n) { id owner { id } } }`,
    { o: ref.owner, n: ref.repo },
  );
  const created = await emulatorGraphql<{ createProjectV2: { projectV2: { id: string } } }>(
    `mutation($input: CreateProjectV2Input!) { createProjectV2(input: $input) { projectV2 { id } } }`,
    { input: { ownerId: repo.repository.owner.id, title } },
  );
  existingId = created.createProjectV2.projectV2.id;
  const settings = workspaceSettings({ ...process.env, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: "test" });
  settings.envVars = { ...settings.envVars, PULUMI_CONFIG_PASSPHRASE: "test", DATABASE_URL: db.url };
  stack = await selectRepoStack({ ...ref, displayName: `Gadgets ${suffix}`, serverUrl: "http://127.0.0.1:8080" }, settings);
});

after(async () => {
  await stack?.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
  await db?.drop();
  await rm(stateDir, { recursive: true, force: true });
});

test("an existing board with the same title is adopted, not duplicated", async () => {
  const result = await stack.up({ onOutput: () => undefined });
  assert.equal(result.outputs.projectId.value, existingId);
  assert.deepEqual(await boardsTitled(), [existingId]);
  const row = (
    await db.pool.query("SELECT project_id, status_options FROM repo_registry WHERE full_name = $1", [`${ref.owner}/${ref.repo}`])
  ).rows[0];
  assert.equal(row.project_id, existingId);
  assert.ok("Planning" in row.status_options, "the adopted board got mesh-six's Status columns");
});

test("destroy leaves an adopted board in place", async () => {
  await stack.destroy({ onOutput: () => undefined });
  assert.deepEqual(await boardsTitled(), [existingId]);
});
