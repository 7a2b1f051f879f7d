import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
  GITHUB_REPOSITORY_FILE,
  GITHUB_WEBHOOK,
  PROJECT_BOARD,
  REPO_REGISTRATION,
  VAULT_KV_SECRET,
  WEBHOOK_SECRET,
} from "../../domain/resource-types";
import { UNKNOWN_DURING_PREVIEW } from "../../providers/check";
import { deliveryFiltersSchema } from "../../domain/repo-config";
import { type Registered, dynamicProviderOf, mockPulumi, valueOf } from "../../testkit/pulumi-mocks";

// Each dynamic provider as the engine runs it: serialized, loaded from that text, and asked to check() the inputs
// before anything is created. Defaults are filled in there and bad inputs refused there, naming the property.

const mocks = mockPulumi({ stack: "acme.widgets" });
/* eslint-disable @typescript-eslint/no-require-imports -- loaded after the mocks, as a program is */
const { GitHubWebhook }: typeof import("../../providers/github-webhook") = require("../../providers/github-webhook");
const { GitHubRepositoryFile }: typeof import("../../providers/github-repository-file") = require("../../providers/github-repository-file");
const { ProjectBoard }: typeof import("../../providers/project-board") = require("../../providers/project-board");
const { RepoRegistration }: typeof import("../../providers/repo-registration") = require("../../providers/repo-registration");
const { VaultKvSecret }: typeof import("../../providers/vault-kv-secret") = require("../../providers/vault-kv-secret");
const { WebhookSecret }: typeof import("../../providers/webhook-secret") = require("../../providers/webhook-secret");
/* eslint-enable @typescript-eslint/no-require-imports */

let count = 0;
/** Declares the resource and returns what the mocks recorded of it once its provider's check() has run. */
async function declared(type: string, create: (name: string) => pulumi.CustomResource): Promise<Registered> {
  const name = `r${count++}`;
  await valueOf(create(name).urn);
  return mocks.one(type, name);
}

const hookArgs = { owner: "acme", repo: "widgets", url: "https://mesh.example/h", events: ["issues"], secret: "s3cret" };
const registration = {
  owner: "acme",
  repo: "widgets",
  stackName: "acme.widgets",
  displayName: "Widgets",
  defaultBranch: "main",
  projectId: "PVT_1",
  projectNumber: 1,
  statusFieldId: "F1",
  statusOptions: {},
  priorityFieldId: "F2",
  priorityOptions: {},
  textFieldIds: {},
  webhookSecretPath: "mesh-six/webhooks/repos/acme/widgets",
  webhookId: 7,
  envStatefulSet: "repo-acme-widgets",
  envNamespace: "mesh-six",
  labels: ["mesh-six"],
  allowedAuthors: ["octocat"],
  filters: deliveryFiltersSchema.parse({}),
};

test("GitHubWebhook: check() fills in active, json and verified TLS, and keeps the secret a secret", async () => {
  const hook = await declared(GITHUB_WEBHOOK.token, (n) => new GitHubWebhook(n, hookArgs));
  assert.deepEqual(hook.failures, []);
  assert.deepEqual([hook.inputs.active, hook.inputs.contentType, hook.inputs.insecureSsl], [true, "json", false]);
  assert.equal(hook.inputs.secret.value, "s3cret", "still wrapped as a secret");
});

test("GitHubWebhook: check() refuses a missing url and an unknown content type, naming each", async () => {
  const hook = await declared(
    GITHUB_WEBHOOK.token,
    (n) => new GitHubWebhook(n, { ...hookArgs, url: "", contentType: "xml" as unknown as "json" }),
  );
  assert.deepEqual(
    hook.failures.map((f) => f.property),
    ["url", "contentType"],
  );
});

test("GitHubRepositoryFile: check() fills in the commit message and overwrite, and refuses an empty path", async () => {
  const args = { owner: "acme", repo: "widgets", branch: "main", path: "a.txt", content: "x" };
  const file = await declared(GITHUB_REPOSITORY_FILE.token, (n) => new GitHubRepositoryFile(n, args));
  assert.deepEqual(file.failures, []);
  assert.deepEqual([file.inputs.commitMessage, file.inputs.overwrite], ["Add mesh-six devcontainer", false]);
  const bad = await declared(GITHUB_REPOSITORY_FILE.token, (n) => new GitHubRepositoryFile(n, { ...args, path: "" }));
  assert.deepEqual(
    bad.failures.map((f) => f.property),
    ["path"],
  );
});

test("WebhookSecret: check() fills in the first rotation", async () => {
  const secret = await declared(WEBHOOK_SECRET.token, (n) => new WebhookSecret(n, {}));
  assert.deepEqual(secret.failures, []);
  assert.equal(secret.inputs.rotation, "initial");
});

test("VaultKvSecret: check() fills in the mount and writes the path as Vault resolves it", async () => {
  const secret = await declared(
    VAULT_KV_SECRET.token,
    (n) => new VaultKvSecret(n, { path: "mesh-six/webhooks//repos/acme/widgets/", data: { secret: "s" } }),
  );
  assert.deepEqual(secret.failures, []);
  assert.deepEqual([secret.inputs.mount, secret.inputs.path], ["secret", "mesh-six/webhooks/repos/acme/widgets"]);
});

test("ProjectBoard: check() refuses a board without a title", async () => {
  const board = await declared(PROJECT_BOARD.token, (n) => new ProjectBoard(n, { owner: "acme", repo: "widgets", title: "" }));
  assert.deepEqual(
    board.failures.map((f) => f.property),
    ["title"],
  );
});

test("RepoRegistration: check() refuses ids that are not integers and labels that are not strings", async () => {
  const good = await declared(REPO_REGISTRATION.token, (n) => new RepoRegistration(n, registration));
  assert.deepEqual(good.failures, []);
  const bad = await declared(
    REPO_REGISTRATION.token,
    (n) =>
      new RepoRegistration(n, {
        ...registration,
        webhookId: 1.5,
        labels: [1 as unknown as string],
        agentSettings: ["x"] as unknown as Record<string, unknown>,
      }),
  );
  assert.deepEqual(bad.failures.map((f) => f.property).sort(), ["agentSettings", "labels", "webhookId"]);
});

test("a value still unknown during preview is judged by the update that knows it, not refused", async () => {
  const hook = await declared(GITHUB_WEBHOOK.token, (n) => new GitHubWebhook(n, hookArgs));
  const checked = await dynamicProviderOf(hook).check!({}, { ...hookArgs, url: UNKNOWN_DURING_PREVIEW, secret: UNKNOWN_DURING_PREVIEW });
  assert.deepEqual(checked.failures, []);
  const vault = await declared(VAULT_KV_SECRET.token, (n) => new VaultKvSecret(n, { path: "mesh-six/webhooks/repos/a/b", data: {} }));
  const vaultChecked = await dynamicProviderOf(vault).check!({}, { path: UNKNOWN_DURING_PREVIEW, data: {} });
  assert.deepEqual(vaultChecked.failures, []);
  assert.equal(vaultChecked.inputs?.path, UNKNOWN_DURING_PREVIEW);
});

test("each serialized provider carries its own code only: not the Pulumi SDK, nor the resource class", async () => {
  const dynamic = mocks.registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
  const types = new Set(dynamic.map((r) => r.type));
  assert.equal(types.size, 6);
  for (const type of types) {
    const text = dynamic.find((r) => r.type === type)!.inputs.__provider as string;
    assert.doesNotMatch(text, /@pulumi\//, type);
    assert.doesNotMatch(text, /dynamic\.Resource|ComponentResource/, type);
    assert.ok(text.length < 32_000, `${type}: ${text.length} characters`);
  }
});
