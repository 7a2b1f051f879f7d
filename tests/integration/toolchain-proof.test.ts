import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { kubeApi } from "../../testkit/kube-api";
import { readVaultSecret } from "../../testkit/vault-api";
import { VaultKvSecret } from "../../providers/vault-kv-secret";

// The foundation's proof: the bootstrapped CLI and kubernetes plugin, driven by the Automation API on the local
// file backend, create real objects in the sandbox's API server and Vault, converge, and clean up after themselves.

const suffix = Date.now().toString(36);
const namespace = `proof-${suffix}`;
// Under mesh-six/webhooks/: VaultKvSecret writes nowhere else (the webhook-secret-path rule).
const vaultPath = `mesh-six/webhooks/proof-${suffix}/proof`;
let stateDir: string;
let stack: Stack;

function program() {
  return async () => {
    const ns = new k8s.core.v1.Namespace("proof", { metadata: { name: namespace } });
    const cm = new k8s.core.v1.ConfigMap("proof", {
      metadata: { name: "proof", namespace: ns.metadata.name },
      data: { greeting: "hello from pulumi" },
    });
    const secret = new VaultKvSecret("proof", { path: vaultPath, data: pulumi.secret({ token: "proof-value" }) });
    return { configMap: cm.metadata.name, vaultVersion: secret.version };
  };
}

before(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-proof-"));
  stack = await LocalWorkspace.createOrSelectStack(
    { projectName: "mesh-six-proof", stackName: "proof", program: program() },
    {
      envVars: {
        PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "proof",
      },
    },
  );
});

after(async () => {
  await stack?.workspace.removeStack("proof", { force: true }).catch(() => undefined);
  await rm(stateDir, { recursive: true, force: true });
});

test("up creates a Namespace and a ConfigMap in the API server and a KV secret in Vault", async () => {
  const result = await stack.up();
  assert.equal(result.summary.result, "succeeded");
  const cm = await kubeApi("GET", `/api/v1/namespaces/${namespace}/configmaps/proof`);
  assert.equal(cm.status, 200);
  assert.equal((cm.body as { data: Record<string, string> }).data.greeting, "hello from pulumi");
  const secret = await readVaultSecret(vaultPath);
  assert.deepEqual(secret, { token: "proof-value" });
});

test("a second up changes nothing", async () => {
  const result = await stack.up();
  const changes = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
  assert.deepEqual(changes, [], `expected only unchanged resources, got ${JSON.stringify(result.summary.resourceChanges)}`);
});

test("destroy removes the ConfigMap, the Namespace and the Vault secret", async () => {
  const result = await stack.destroy();
  assert.equal(result.summary.result, "succeeded");
  const cm = await kubeApi("GET", `/api/v1/namespaces/${namespace}/configmaps/proof`);
  assert.equal(cm.status, 404);
  const ns = await kubeApi("GET", `/api/v1/namespaces/${namespace}`);
  // A namespace may linger in Terminating for a moment; it must be gone or going.
  assert.ok(ns.status === 404 || (ns.body as { status: { phase: string } }).status.phase === "Terminating");
  assert.equal(await readVaultSecret(vaultPath), undefined);
});
