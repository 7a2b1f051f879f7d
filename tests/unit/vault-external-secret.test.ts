import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { mockPulumi, valueOf } from "../../testkit/pulumi-mocks";

const { registered } = mockPulumi({ stack: "test" });

// Loaded only after setMocks, so nothing from the component's module can reach a real engine.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { VaultExternalSecret }: typeof import("../../components/vault-external-secret") = require("../../components/vault-external-secret");

async function externalSecretFor(name: string, args: ConstructorParameters<typeof VaultExternalSecret>[1]) {
  const component = new VaultExternalSecret(name, args);
  const secretName = await valueOf(component.secretName);
  const resource = registered.find((r) => r.name === name && r.type === "kubernetes:external-secrets.io/v1:ExternalSecret");
  assert.ok(resource, `no ExternalSecret registered for ${name}`);
  return { secretName, resource };
}

test("each target key is read from the Vault property of the same name at vaultPath", async () => {
  const { resource } = await externalSecretFor("keys", {
    namespace: "mesh-six",
    secretName: "app-secrets",
    vaultPath: "mesh-six/platform",
    keys: ["PG_USER", "PG_PASSWORD"],
  });
  assert.deepEqual(resource.inputs.spec.data, [
    { secretKey: "PG_USER", remoteRef: { key: "mesh-six/platform", property: "PG_USER" } },
    { secretKey: "PG_PASSWORD", remoteRef: { key: "mesh-six/platform", property: "PG_PASSWORD" } },
  ]);
});

test("by default it refreshes hourly through the vault-backend ClusterSecretStore and owns its target Secret", async () => {
  const { resource } = await externalSecretFor("defaults", {
    namespace: "mesh-six",
    secretName: "default-secrets",
    vaultPath: "mesh-six/platform",
    keys: ["A"],
  });
  assert.equal(resource.inputs.apiVersion, "external-secrets.io/v1");
  assert.equal(resource.inputs.kind, "ExternalSecret");
  assert.equal(resource.inputs.spec.refreshInterval, "1h");
  assert.deepEqual(resource.inputs.spec.secretStoreRef, { kind: "ClusterSecretStore", name: "vault-backend" });
  assert.deepEqual(resource.inputs.spec.target, { name: "default-secrets", creationPolicy: "Owner" });
});

test("refreshInterval and storeName override the defaults", async () => {
  const { resource } = await externalSecretFor("overrides", {
    namespace: "mesh-six",
    secretName: "override-secrets",
    vaultPath: "mesh-six/platform",
    keys: ["A"],
    refreshInterval: "5m",
    storeName: "vault-staging",
  });
  assert.equal(resource.inputs.spec.refreshInterval, "5m");
  assert.deepEqual(resource.inputs.spec.secretStoreRef, { kind: "ClusterSecretStore", name: "vault-staging" });
});

test("the ExternalSecret lives in the given namespace under the target Secret's name, which secretName exports", async () => {
  const { secretName, resource } = await externalSecretFor("naming", {
    namespace: "team-ns",
    secretName: pulumi.output("named-secrets"),
    vaultPath: "mesh-six/platform",
    keys: ["A"],
  });
  assert.equal(secretName, "named-secrets");
  assert.equal(resource.inputs.metadata.name, "named-secrets");
  assert.equal(resource.inputs.metadata.namespace, "team-ns");
});

test("keys that are empty, repeated or not valid Secret keys are refused before anything is declared", () => {
  const base = { namespace: "mesh-six", secretName: "s", vaultPath: "mesh-six/platform" };
  assert.throws(() => new VaultExternalSecret("none", { ...base, keys: [] }), /at least one key/);
  assert.throws(() => new VaultExternalSecret("dupe", { ...base, keys: ["A", "B", "A"] }), /A appear more than once/);
  assert.throws(() => new VaultExternalSecret("bad", { ...base, keys: ["GOOD", "NOT/OK"] }), /NOT\/OK are not valid/);
});
