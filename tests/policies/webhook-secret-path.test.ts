import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { VAULT_KV_SECRET } from "../../domain/resource-types";
import { webhookSecretPath } from "../../policies/rules/webhook-secret-path";
import { mockPulumi, valueOf } from "../../testkit/pulumi-mocks";
import { violations } from "./harness";

// The Vault path a KvSecret writes is judged by where Vault's HTTP API ends up, not by how it is spelled: the
// provider joins mount and path into /v1/<mount>/data/<path>, and URL parsing resolves dot segments (also
// percent-encoded ones, and backslashes) before Vault sees them. The policy and the component refuse the same paths.

const mocks = mockPulumi({ stack: "acme.widgets" });
// Loaded after setMocks, as a program is.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { VaultKvSecret }: typeof import("../../providers/vault-kv-secret") = require("../../providers/vault-kv-secret");

/** What the provider's check() refuses of a VaultKvSecret with these args: the engine refuses the resource for any. */
async function refusals(args: ConstructorParameters<typeof VaultKvSecret>[1]) {
  const name = `secret-${mocks.registered.length}-${Math.random().toString(36).slice(2)}`;
  await valueOf(new VaultKvSecret(name, args).urn);
  return mocks.one(VAULT_KV_SECRET.token, name).failures;
}

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
    assert.equal(violations(webhookSecretPath, VAULT_KV_SECRET.token, { path, mount: "secret" }).length, 1);
  });
  test(`webhook-secret-path: VaultKvSecret takes ${JSON.stringify(path)}, under mesh-six/webhooks/`, async () => {
    assert.deepEqual(await refusals({ path, data: { secret: "s" } }), []);
  });
}

for (const path of OUTSIDE) {
  test(`webhook-secret-path: the policy refuses ${JSON.stringify(path)}`, () => {
    assert.equal(violations(webhookSecretPath, VAULT_KV_SECRET.token, { path, mount: "secret" }).length, 1);
  });
  test(`webhook-secret-path: VaultKvSecret refuses ${JSON.stringify(path)}`, async () => {
    const failures = await refusals({ path, data: { secret: "s" } });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["path"],
    );
    assert.match(failures[0].reason, /mesh-six\/webhooks\//);
  });
}

for (const [path, normalised] of INSIDE) {
  test(`webhook-secret-path: the policy accepts ${JSON.stringify(path)}`, () => {
    assert.deepEqual(violations(webhookSecretPath, VAULT_KV_SECRET.token, { path, mount: "secret" }), []);
  });
  test(`webhook-secret-path: VaultKvSecret writes ${JSON.stringify(path)} as ${normalised}`, async () => {
    const secret = new VaultKvSecret(`ok-${mocks.registered.length}`, { path: pulumi.output(path), data: { secret: "s" } });
    const written = await valueOf(secret.path);
    assert.equal(written, normalised);
  });
}

for (const mount of ["secret/../sys", "secret/data/mesh-six/other/..", "..", "%2e%2e", ""]) {
  test(`webhook-secret-path: a mount that moves the write elsewhere (${JSON.stringify(mount)}) is refused by both`, async () => {
    assert.equal(violations(webhookSecretPath, VAULT_KV_SECRET.token, { path: "mesh-six/webhooks/acme/widgets", mount }).length, 1);
    const failures = await refusals({ path: "mesh-six/webhooks/acme/widgets", mount, data: {} });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["mount"],
    );
    assert.match(failures[0].reason, /mount/);
  });
}
