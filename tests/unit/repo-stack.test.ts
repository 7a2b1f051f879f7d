import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseRepoStackConfig } from "../../domain/repo-config";
import { GITHUB_WEBHOOK, PROJECT_BOARD, REPO_REGISTRATION, VAULT_KV_SECRET, WEBHOOK_SECRET } from "../../domain/resource-types";
import { AGENT_SETTINGS } from "../../domain/resource-types";
import { STATUS_COLUMN, STATUS_COLUMNS, WORKFLOW_STATES } from "../../domain/workflow";
import { mockPulumi, valueOf } from "../../testkit/pulumi-mocks";

// The repo stack's resources under Pulumi's mocks: what each component asks for, without a cluster.

// The value the mocked webhook secret generates; it must never surface in the stack's outputs.
const CANARY = "canary-webhook-secret-0123456789";

// What the providers' create() adds to their inputs, so the registration that uses them is declared as in a real up.
const CREATED: Record<string, Record<string, unknown>> = {
  [WEBHOOK_SECRET.token]: { value: CANARY },
  [GITHUB_WEBHOOK.token]: { hookId: 7 },
  [PROJECT_BOARD.token]: {
    projectId: "PVT_1",
    projectNumber: 1,
    statusFieldId: "F_STATUS",
    statusOptions: {},
    priorityFieldId: "F_PRIORITY",
    priorityOptions: {},
    textFieldIds: {},
  },
};
const mocks = mockPulumi({ stack: "acme.widgets", state: (r) => ({ ...r.inputs, ...CREATED[r.type] }) });
const declared = mocks.registered;

let outputs: Record<string, unknown>;

before(async () => {
  // A server without a LiteLLM proxy, whatever the sandbox's environment says (repo-stack-litellm.test.ts has one).
  delete process.env.LITELLM_API_BASE;
  // An auth service to hold the repo's agent settings (agent-settings.test.ts drives the provider against one).
  process.env.MESH_SIX_AUTH_SERVICE_URL = "http://auth.example";
  // Loaded after setMocks, so its resources register with the mocks.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { repoResources }: typeof import("../../stacks/repo") = require("../../stacks/repo");
  const result = repoResources(
    parseRepoStackConfig({
      owner: "acme",
      repo: "widgets",
      serverUrl: "https://mesh-six.example.com",
      displayName: "Widgets",
      authProjectId: "proj-1",
      settings: { model: "opus", permissions: { allow: ["Bash(npm test)"] } },
      filters: { excludeLabels: ["wontfix"], pullRequests: { baseBranches: ["main"] } },
    }),
  );
  outputs = (await valueOf(pulumi.output(result))) as Record<string, unknown>;
  // The registration is not among the outputs: wait for its (output-dependent) registration too.
  await mocks.until((registered) => registered.some((d) => d.type === REPO_REGISTRATION.token), 10_000);
});

const one = (type: string) => mocks.one(type);

test("the environment is an Envbuilder StatefulSet with ENVBUILDER_* settings and no HTTP probes", () => {
  const sts = one("kubernetes:apps/v1:StatefulSet").inputs;
  const container = sts.spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value ?? "(secret)"]));
  assert.equal(env.ENVBUILDER_GIT_URL, "https://github.com/acme/widgets.git#refs/heads/main");
  assert.ok(env.ENVBUILDER_INIT_SCRIPT);
  assert.ok(env.ENVBUILDER_FALLBACK_IMAGE);
  assert.equal(env.ENVBUILDER_GIT_PASSWORD, "(secret)");
  for (const name of Object.keys(env)) {
    assert.ok(name.startsWith("ENVBUILDER_") || name.startsWith("PG_"), `unexpected env ${name}`);
  }
  assert.equal(container.livenessProbe, undefined);
  assert.equal(container.readinessProbe, undefined);
  assert.deepEqual(sts.spec.template.spec.imagePullSecrets, [{ name: "gitea-registry-secret" }]);
  assert.deepEqual(container.resources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } });
});

test("git and database credentials come from mesh-six-secrets", () => {
  const container = one("kubernetes:apps/v1:StatefulSet").inputs.spec.template.spec.containers[0];
  const refs = container.env
    .filter((e: { valueFrom?: unknown }) => e.valueFrom)
    .map((e: { valueFrom: { secretKeyRef: { name: string; key: string } } }) => e.valueFrom.secretKeyRef);
  assert.ok(refs.length >= 4);
  for (const ref of refs) assert.equal(ref.name, "mesh-six-secrets");
  assert.deepEqual(refs.map((r: { key: string }) => r.key).sort(), ["GIT_PASSWORD", "GIT_USERNAME", "PG_PASSWORD", "PG_USER"]);
});

test("the StatefulSet claims a workspace and a session volume and carries Dapr annotations", () => {
  const sts = one("kubernetes:apps/v1:StatefulSet").inputs;
  assert.deepEqual(
    sts.spec.volumeClaimTemplates.map((c: { metadata: { name: string } }) => c.metadata.name),
    ["workspace", "session"],
  );
  const annotations = sts.spec.template.metadata.annotations;
  assert.equal(annotations["dapr.io/enabled"], "true");
  assert.equal(annotations["dapr.io/app-id"], sts.metadata.name);
  assert.equal(sts.metadata.labels["mesh-six.dev/repo"].startsWith("repo-acme-widgets-"), true);
});

test("the Service is headless and selects the environment pod", () => {
  const svc = one("kubernetes:core/v1:Service").inputs;
  const sts = one("kubernetes:apps/v1:StatefulSet").inputs;
  assert.equal(svc.spec.clusterIP, "None");
  assert.deepEqual(svc.spec.selector, sts.spec.template.metadata.labels);
});

test("the pod-reader Role reads pods and StatefulSets and nothing more", () => {
  const role = one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs;
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get", "list"] },
  ]);
  const binding = one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs;
  assert.equal(binding.roleRef.kind, "Role");
  assert.equal(declared.filter((d) => d.type.includes("ClusterRole")).length, 0);
});

test("the env ExternalSecret reads the repo's Vault path through vault-backend", () => {
  const es = one("kubernetes:external-secrets.io/v1:ExternalSecret").inputs;
  assert.equal(es.spec.secretStoreRef.name, "vault-backend");
  assert.equal(es.spec.secretStoreRef.kind, "ClusterSecretStore");
  assert.ok(es.spec.refreshInterval);
  assert.equal(es.spec.data[0].remoteRef.key, "mesh-six/repos/acme/widgets/env");
});

test("the webhook secret goes to Vault at the repo's path and the hook posts JSON to the server", () => {
  const dynamic = declared.filter((d) => d.type.startsWith("pulumi-nodejs:dynamic/"));
  const vault = dynamic.find((d) => d.type === VAULT_KV_SECRET.token);
  assert.ok(vault, "a Vault KV secret for the webhook");
  assert.equal(vault.inputs.path, "mesh-six/webhooks/repos/acme/widgets");
  const hook = dynamic.find((d) => "events" in d.inputs);
  assert.ok(hook);
  assert.equal(hook.inputs.url, "https://mesh-six.example.com/webhooks/github/acme/widgets");
  assert.deepEqual(hook.inputs.events, ["issues", "issue_comment", "pull_request"]);
  assert.deepEqual([hook.inputs.active, hook.inputs.contentType, hook.inputs.insecureSsl], [true, "json", false]);
});

test("the board asks for every Status column, one per workflow state", () => {
  const board = declared.find((d) => "statusColumns" in d.inputs);
  assert.ok(board);
  assert.deepEqual(board.inputs.statusColumns, [...STATUS_COLUMNS]);
  assert.deepEqual(new Set(WORKFLOW_STATES.map((s) => STATUS_COLUMN[s])), new Set(STATUS_COLUMNS));
  assert.deepEqual(board.inputs.priorities, ["Critical", "High", "Medium", "Low"]);
  assert.deepEqual(board.inputs.textFields, ["Session ID", "Pod Name", "Workflow ID"]);
});

test("the registry row names the env StatefulSet, the webhook secret path and the auth project", () => {
  const reg = declared.find((d) => "webhookSecretPath" in d.inputs);
  assert.ok(reg);
  assert.equal(reg.inputs.authProjectId, "proj-1");
  assert.equal(reg.inputs.stackName, "acme.widgets");
  assert.equal(reg.inputs.webhookSecretPath, "mesh-six/webhooks/repos/acme/widgets");
  assert.equal(reg.inputs.envStatefulSet, one("kubernetes:apps/v1:StatefulSet").inputs.metadata.name);
});

test("the repo's agent settings go to its auth project, and the registry row shows them with its filters (defaults filled in)", () => {
  const { __provider: _provider, ...settings } = one(AGENT_SETTINGS.token).inputs;
  assert.deepEqual(settings, {
    projectId: "proj-1",
    displayName: "acme/widgets",
    settings: { model: "opus", permissions: { allow: ["Bash(npm test)"] } },
  });
  const reg = one(REPO_REGISTRATION.token).inputs;
  assert.deepEqual(reg.agentSettings, settings.settings);
  assert.deepEqual(reg.filters, {
    excludeLabels: ["wontfix"],
    ignoreDrafts: true,
    ignoreBots: true,
    ignoredLogins: [],
    pullRequests: { baseBranches: ["main"], headBranches: [] },
  });
});

test("the devcontainer is committed with the mesh-six-tools feature and an existing one is kept", () => {
  const file = declared.find((d) => d.inputs.path === ".devcontainer/devcontainer.json");
  assert.ok(file);
  assert.equal(file.inputs.overwrite, false);
  const doc = JSON.parse(file.inputs.content);
  assert.ok(Object.keys(doc.features).some((f) => f.includes("mesh-six-tools")));
});

test("without a LiteLLM proxy (no LITELLM_API_BASE) the repo gets no LiteLLM team and its Secret no LiteLLM keys", () => {
  assert.equal(declared.filter((d) => d.type === "pulumi-nodejs:dynamic/litellm:Team").length, 0);
  assert.equal(outputs.litellmTeamId, undefined);
  const es = one("kubernetes:external-secrets.io/v1:ExternalSecret").inputs;
  assert.deepEqual(
    es.spec.data.map((d: { secretKey: string }) => d.secretKey),
    ["GITHUB_TOKEN"],
  );
});

test("stack outputs carry no secret values", () => {
  const text = JSON.stringify(outputs);
  assert.equal(outputs.stackName, "acme.widgets");
  assert.ok(!text.includes(CANARY), text);
  const hook = declared.find((d) => "events" in d.inputs);
  assert.ok(hook, "the webhook was declared");
});

test("every dynamic resource of the stack passes its provider's check()", () => {
  const dynamic = declared.filter((d) => d.type.startsWith("pulumi-nodejs:dynamic/"));
  assert.equal(dynamic.length, 7);
  for (const d of dynamic) assert.deepEqual(d.failures, [], `${d.type} ${d.name}`);
});
