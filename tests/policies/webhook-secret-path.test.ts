import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { VAULT_KV_SECRET_TYPE, webhookSecretPath } from "../../policies/rules/webhook-secret-path";
import { violations } from "./harness";

// The Vault path a KvSecret writes is judged by where Vault's HTTP API ends up, not by how it is spelled: the
// provider joins mount and path into /v1/<mount>/data/<path>, and URL parsing resolves dot segments (also
// percent-encoded ones, and backslashes) before Vault sees them. The policy and the component refuse the same paths.

const registered: { type: string; inputs: Record<string, unknown> }[] = [];
void pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, inputs: args.inputs });
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args) => args.inputs,
  },
  "mesh-six",
  "acme.widgets",
  false,
);
// Loaded after setMocks, as a program is.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { VaultKvSecret }: typeof import("../../providers/vault-kv-secret") = require("../../providers/vault-kv-secret");

const OUTSIDE = [
  "acme/widgets",
  "mesh-six/webhooks",
  "mesh-six/webhooks/",
  "mesh-six/webhooks//",
  "mesh-six/webhooks/.",
  "mesh-six/webhooks/./",
  "mesh-six/webhooks/..",
  "mesh-six/webhooks/../platform",
  "mesh-six/webhooks/acme/../../platform",
  "mesh-six/webhooks/acme/../../../../sys/policy/root",
  "mesh-six/webhooks/%2e%2e/platform",
  "mesh-six/webhooks/%2E%2E/platform",
  "mesh-six/webhooks/.%2e/platform",
  "mesh-six/webhooks/acme%2f..%2f..%2fplatform",
  "mesh-six/webhooks/acme%2F..%2F..%2Fplatform",
  "mesh-six/webhooks/%252e%252e/platform",
  "mesh-six/webhooks/acme\\..\\..\\platform",
  "mesh-six/webhooks/.\t./platform",
  "mesh-six/webhooks/%zz",
  "mesh-six/webhooksfoo/acme",
];

const INSIDE: [string, string][] = [
  ["mesh-six/webhooks/repos/acme/widgets", "mesh-six/webhooks/repos/acme/widgets"],
  ["mesh-six/webhooks/repos/acme/widgets/", "mesh-six/webhooks/repos/acme/widgets"],
  ["mesh-six/webhooks//repos//acme//widgets", "mesh-six/webhooks/repos/acme/widgets"],
  ["/mesh-six/webhooks/repos/acme/./widgets", "mesh-six/webhooks/repos/acme/widgets"],
  ["mesh-six/webhooks/repos/acme/x/../widgets", "mesh-six/webhooks/repos/acme/widgets"],
  ["mesh-six/webhooks/repos/acme%2fwidgets", "mesh-six/webhooks/repos/acme/widgets"],
  ["mesh-six/webhooks/repos/acme/my.repo", "mesh-six/webhooks/repos/acme/my.repo"],
];

// Under mesh-six/webhooks/ but not a repo's: the component writes them (an organization's secret is one), and the
// policy refuses them in a repo stack, whose secret belongs under repos/.
const NOT_A_REPOS = [
  "mesh-six/webhooks/orgs/acme",
  "mesh-six/webhooks/acme/widgets",
  "mesh-six/webhooks/repos/../orgs/acme",
  "mesh-six/webhooks/repos%2f..%2forgs/acme",
];

for (const path of NOT_A_REPOS) {
  test(`webhook-secret-path: the policy refuses ${JSON.stringify(path)}, outside repos/`, () => {
    assert.equal(violations(webhookSecretPath, VAULT_KV_SECRET_TYPE, { path, mount: "secret" }).length, 1);
  });
  test(`webhook-secret-path: VaultKvSecret takes ${JSON.stringify(path)}, under mesh-six/webhooks/`, () => {
    assert.doesNotThrow(() => new VaultKvSecret(`other-${registered.length}`, { path, data: { secret: "s" } }));
  });
}

for (const path of OUTSIDE) {
  test(`webhook-secret-path: the policy refuses ${JSON.stringify(path)}`, () => {
    assert.equal(violations(webhookSecretPath, VAULT_KV_SECRET_TYPE, { path, mount: "secret" }).length, 1);
  });
  test(`webhook-secret-path: VaultKvSecret refuses ${JSON.stringify(path)}`, () => {
    assert.throws(() => new VaultKvSecret("bad", { path, data: { secret: "s" } }), /mesh-six\/webhooks\//);
  });
}

for (const [path, normalised] of INSIDE) {
  test(`webhook-secret-path: the policy accepts ${JSON.stringify(path)}`, () => {
    assert.deepEqual(violations(webhookSecretPath, VAULT_KV_SECRET_TYPE, { path, mount: "secret" }), []);
  });
  test(`webhook-secret-path: VaultKvSecret writes ${JSON.stringify(path)} as ${normalised}`, async () => {
    const secret = new VaultKvSecret(`ok-${registered.length}`, { path: pulumi.output(path), data: { secret: "s" } });
    const written = await new Promise<string>((resolve) => secret.path.apply(resolve));
    assert.equal(written, normalised);
  });
}

for (const mount of ["secret/../sys", "secret/data/mesh-six/other/..", "..", "%2e%2e", ""]) {
  test(`webhook-secret-path: a mount that moves the write elsewhere (${JSON.stringify(mount)}) is refused by both`, () => {
    assert.equal(violations(webhookSecretPath, VAULT_KV_SECRET_TYPE, { path: "mesh-six/webhooks/acme/widgets", mount }).length, 1);
    assert.throws(() => new VaultKvSecret("bad-mount", { path: "mesh-six/webhooks/acme/widgets", mount, data: {} }), /mount/);
  });
}
