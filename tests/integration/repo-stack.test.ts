import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT_DIR, selectRepoStack, workspaceSettings } from "../../pulumi/workspace";
import { k8sNameFor, stackNameFor, vaultWebhookPath } from "../../domain/names";
import { STATUS_COLUMNS } from "../../domain/workflow";
import { type TestDatabase, createTestDatabase } from "../../testkit/database";
import { emulator, emulatorGraphql } from "../../testkit/github-emulator";
import { kubeApi } from "../../testkit/kube-api";
import { readVaultSecret } from "../../testkit/vault-api";
import { type AuthService, startAuthService } from "../../testkit/oauth-server";

// A repo stack for real: the project's own program (index.ts, through the bootstrapped CLI and language host)
// against the sandbox's API server, Vault, Postgres and GitHub emulator: up, up again with no changes, destroy.

const suffix = Date.now().toString(36);
const ref = { owner: "mesh-six-sandbox", repo: `widgets.${suffix}` };
const fullName = `${ref.owner}/${ref.repo}`;
const envName = k8sNameFor(ref);
const ns = "mesh-six";
let stateDir: string;
let db: TestDatabase;
let stack: Stack;
let settingsEnv: Record<string, string>;
// The auth service the repo's agent settings go to; the project has keys of others already.
let authService: AuthService;
const OTHERS = { theme: "light", permissions: { allow: ["Read"] } };
const authSettings = () => JSON.parse(authService.projects.get("auth-proj-1")?.settingsJson ?? "null") as Record<string, unknown> | null;
const execFileAsync = promisify(execFile);

before(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-repo-stack-"));
  db = await createTestDatabase("repo_stack");
  const created = await emulator("POST", "/_emulator/repos", {
    owner: ref.owner,
    name: ref.repo,
    owner_type: "Organization",
    auto_init: true,
  });
  assert.equal(created.status, 201);
  const settings = workspaceSettings({ ...process.env, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: "test" });
  authService = await startAuthService();
  const now = new Date().toISOString();
  authService.projects.set("auth-proj-1", {
    id: "auth-proj-1",
    displayName: "made by hand",
    settingsJson: JSON.stringify(OTHERS),
    createdAt: now,
    updatedAt: now,
  });
  settings.envVars = {
    ...settings.envVars,
    PULUMI_CONFIG_PASSPHRASE: "test",
    DATABASE_URL: db.url,
    MESH_SIX_AUTH_SERVICE_URL: authService.url,
  };
  settingsEnv = settings.envVars;
  stack = await selectRepoStack(
    {
      ...ref,
      displayName: "Widgets",
      serverUrl: "http://127.0.0.1:8080",
      authProjectId: "auth-proj-1",
      settings: { model: "opus" },
      filters: { excludeLabels: ["wontfix"] },
    },
    settings,
  );
});

after(async () => {
  await stack?.workspace.removeStack(stack.name, { force: true }).catch(() => undefined);
  await db?.drop();
  await authService?.close();
  await rm(stateDir, { recursive: true, force: true });
});

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Hook {
  id: number;
  active: boolean;
  events: string[];
  config: { url: string; content_type: string; insecure_ssl: string };
}

test("up creates the environment, its access, secrets, webhook, board and registry row", async () => {
  const result = await stack.up({ onOutput: () => undefined });
  assert.equal(result.summary.result, "succeeded");
  assert.equal(result.outputs.stackName.value, stackNameFor(ref));

  const sts = await kubeApi("GET", `/apis/apps/v1/namespaces/${ns}/statefulsets/${envName}`);
  assert.equal(sts.status, 200);
  const pod = await eventually("the env pod to be Ready", async () => {
    const p = await kubeApi("GET", `/api/v1/namespaces/${ns}/pods/${envName}-0`);
    const ready = (p.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.find(
      (c) => c.type === "Ready",
    );
    return p.status === 200 && ready?.status === "True" ? p.body : undefined;
  });
  assert.ok(pod);
  const svc = await kubeApi("GET", `/api/v1/namespaces/${ns}/services/${envName}`);
  assert.equal((svc.body as { spec: { clusterIP: string } }).spec.clusterIP, "None");
  const role = await kubeApi("GET", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${envName}-pod-reader`);
  assert.equal(role.status, 200);
  assert.equal(
    (await kubeApi("GET", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${envName}-pod-reader`)).status,
    200,
  );
  assert.equal((await kubeApi("GET", `/api/v1/namespaces/${ns}/serviceaccounts/${envName}-pod-reader`)).status, 200);
  const es = await kubeApi("GET", `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets/${envName}-secrets`);
  assert.equal(es.status, 200);
  assert.equal((es.body as { spec: { secretStoreRef: { name: string } } }).spec.secretStoreRef.name, "vault-backend");

  const vault = await readVaultSecret(vaultWebhookPath(ref));
  assert.ok(vault?.secret && vault.secret.length >= 32, "a webhook secret in Vault");

  const hooks = await emulator<Hook[]>("GET", `/repos/${fullName}/hooks`);
  assert.equal(hooks.body.length, 1);
  const hook = hooks.body[0];
  assert.equal(hook.config.url, `http://127.0.0.1:8080/webhooks/github/${fullName.toLowerCase()}`);
  assert.equal(hook.config.content_type, "json");
  assert.equal(String(hook.config.insecure_ssl), "0");
  assert.equal(hook.active, true);
  const hookSecret = await emulator<{ secret: string }>("GET", `/_emulator/hooks/${hook.id}/secret`);
  assert.equal(hookSecret.body.secret, vault.secret, "GitHub signs with the secret the receiver reads from Vault");

  const row = (await db.pool.query("SELECT * FROM repo_registry WHERE full_name = $1", [fullName])).rows[0];
  assert.ok(row, "a registry row");
  assert.equal(row.stack_name, stackNameFor(ref));
  assert.equal(row.env_statefulset, envName);
  assert.equal(row.auth_project_id, "auth-proj-1");
  assert.equal(row.webhook_secret_path, vaultWebhookPath(ref));
  assert.equal(Number(row.webhook_id), hook.id);
  // jsonb keeps keys in its own order; the board fields below check the column order.
  assert.deepEqual(Object.keys(row.status_options).sort(), [...STATUS_COLUMNS].sort());
  // The filters as the webhook receiver reads them (defaults filled in), and the agent settings applied.
  assert.deepEqual(row.filters.excludeLabels, ["wontfix"]);
  assert.equal(row.filters.ignoreDrafts, true);
  assert.deepEqual(row.agent_settings, { model: "opus" });
  assert.deepEqual(authSettings(), { ...OTHERS, model: "opus" }, "the repo's key merged, the keys of others kept");

  const board = await emulatorGraphql<{ node: { title: string; fields: { nodes: { name: string; options?: { name: string }[] }[] } } }>(
    `query($id: ID!) { node(id: $id) { ... on ProjectV2 { title fields(first: 50) { nodes {
       ... on ProjectV2Field { name } ... on ProjectV2SingleSelectField { name options { name } } } } } } }`,
    { id: row.project_id },
  );
  assert.equal(board.node.title, "Widgets (mesh-six)");
  const fields = Object.fromEntries(board.node.fields.nodes.map((f) => [f.name, f.options?.map((o) => o.name)]));
  assert.deepEqual(fields.Status, [...STATUS_COLUMNS]);
  assert.deepEqual(fields.Priority, ["Critical", "High", "Medium", "Low"]);
  for (const name of ["Session ID", "Pod Name", "Workflow ID"]) assert.ok(name in fields, name);

  const devcontainer = await emulator<{ content: string }>("GET", `/repos/${fullName}/contents/.devcontainer/devcontainer.json`);
  assert.equal(devcontainer.status, 200);
  assert.match(Buffer.from(devcontainer.body.content, "base64").toString(), /mesh-six-tools/);
});

test("a second up changes nothing", async () => {
  const result = await stack.up({ onOutput: () => undefined });
  const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
  assert.deepEqual(changes, [], `expected only unchanged resources, got ${JSON.stringify(result.summary.resourceChanges)}`);
});

test("the pulumi CLI sees the same stack, with the same config, and nothing to change", async () => {
  // What a user runs by hand: `pulumi preview -s <owner>.<repo>` in the project, on the same backend.
  const env = { ...process.env, ...settingsEnv };
  const { stdout } = await execFileAsync(
    "pulumi",
    ["preview", "--stack", stack.name, "--expect-no-changes", "--non-interactive", "--color", "never"],
    { cwd: PROJECT_DIR, env, maxBuffer: 16 * 1024 * 1024 },
  );
  // One more with a LiteLLM proxy in the environment: the repo's LiteLLM team.
  assert.match(stdout, new RegExp(`${process.env.LITELLM_API_BASE ? 21 : 20} unchanged`));
});

test("destroy removes everything, the registry row, webhook and board included", async () => {
  const { rows } = await db.pool.query("SELECT project_id FROM repo_registry WHERE full_name = $1", [fullName]);
  const projectId = rows[0].project_id as string;
  const result = await stack.destroy({ onOutput: () => undefined });
  assert.equal(result.summary.result, "succeeded");
  for (const p of [
    `/apis/apps/v1/namespaces/${ns}/statefulsets/${envName}`,
    `/api/v1/namespaces/${ns}/services/${envName}`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${envName}-pod-reader`,
    `/apis/external-secrets.io/v1/namespaces/${ns}/externalsecrets/${envName}-secrets`,
  ]) {
    assert.equal((await kubeApi("GET", p)).status, 404, p);
  }
  assert.equal(await readVaultSecret(vaultWebhookPath(ref)), undefined);
  assert.deepEqual((await emulator<Hook[]>("GET", `/repos/${fullName}/hooks`)).body, []);
  assert.equal((await db.pool.query("SELECT 1 FROM repo_registry WHERE full_name = $1", [fullName])).rowCount, 0);
  const gone = await emulator<{ errors?: { type: string }[] }>("POST", "/graphql", {
    query: `query($id: ID!) { node(id: $id) { id } }`,
    variables: { id: projectId },
  });
  assert.ok(
    gone.body.errors?.some((e) => e.type === "NOT_FOUND"),
    "the board is deleted",
  );
  assert.equal((await emulator("GET", `/repos/${fullName}/contents/.devcontainer/devcontainer.json`)).status, 404);
  assert.deepEqual(authSettings(), OTHERS, "offboarding removed the repo's key and left the others' and the project");
});
