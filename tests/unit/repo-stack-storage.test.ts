import assert from "node:assert/strict";
import { before, test } from "node:test";
import { parseRepoStackConfig } from "../../domain/repo-config";
import { k8sNameFor, storagePrefixFor, vaultStoragePath } from "../../domain/names";
import { type Declared, declareRepoStack } from "../../testkit/repo-stack-mocks";
import { STORAGE_PREFIX } from "../../domain/resource-types";
import { STORAGE_SECRET_KEYS, prefixPolicy } from "../../providers/storage-prefix";

// A repo stack with a storage prefix, under Pulumi's mocks: the prefix, the ExternalSecret that brings its key into
// the environment, and the environment reading both Secrets.

const ref = { owner: "acme", repo: "widgets" };
let declared: Declared[];
let outputs: Record<string, unknown>;

before(async () => {
  ({ declared, outputs } = await declareRepoStack({
    ...ref,
    serverUrl: "https://mesh-six.example.com",
    storage: { bucket: "mesh-six-artifacts", keepOnOffboard: false },
  }));
});

function named(type: string, name: string): Declared {
  const found = declared.filter((d) => d.type === type && d.name === name);
  assert.equal(found.length, 1, `expected one ${type} ${name}, found ${found.length}`);
  return found[0];
}

test("the prefix is the repo's own, in the server's bucket, with a user of its own and its key bound for Vault", () => {
  const prefix = named(STORAGE_PREFIX.token, "storage").inputs;
  assert.equal(prefix.bucket, "mesh-six-artifacts");
  assert.equal(prefix.prefix, storagePrefixFor(ref));
  assert.equal(prefix.prefix, "repos/acme/widgets/");
  assert.equal(prefix.userName, k8sNameFor(ref, "s3"));
  assert.equal(prefix.vaultPath, vaultStoragePath(ref));
  assert.equal(prefix.keepObjects, false);
  assert.equal(outputs.storageUrl, "s3://mesh-six-artifacts/repos/acme/widgets/");
});

test("the storage ExternalSecret reads every key from the repo's storage path, and the environment reads it", () => {
  const es = declared.find(
    (d) => d.type === "kubernetes:external-secrets.io/v1:ExternalSecret" && d.inputs.metadata.name.endsWith("-storage"),
  );
  assert.ok(es, "a storage ExternalSecret");
  assert.deepEqual(
    es.inputs.spec.data.map((d: { secretKey: string; remoteRef: { key: string; property: string } }) => [
      d.secretKey,
      d.remoteRef.key,
      d.remoteRef.property,
    ]),
    STORAGE_SECRET_KEYS.map((k) => [k, vaultStoragePath(ref), k]),
  );
  const container = declared.find((d) => d.type === "kubernetes:apps/v1:StatefulSet")!.inputs.spec.template.spec.containers[0];
  assert.deepEqual(
    container.envFrom.map((e: { secretRef: { name: string } }) => e.secretRef.name),
    [`${k8sNameFor(ref)}-secrets`, `${k8sNameFor(ref)}-storage`],
  );
});

test("the prefix's policy allows objects and listing below the prefix only", () => {
  const policy = JSON.parse(prefixPolicy("b", "repos/acme/widgets/"));
  const resources = policy.Statement.flatMap((s: { Resource: string[] }) => s.Resource);
  assert.deepEqual(resources, ["arn:aws:s3:::b/repos/acme/widgets/*", "arn:aws:s3:::b"]);
  assert.deepEqual(policy.Statement[1].Condition, { StringLike: { "s3:prefix": ["repos/acme/widgets/*"] } });
  assert.ok(!JSON.stringify(policy).includes('"*"'), "no action or resource is a bare wildcard");
});

test("a repo config without storage makes no prefix and its environment reads only its own Secret", async () => {
  const cfg = parseRepoStackConfig({ ...ref, serverUrl: "https://mesh-six.example.com" });
  assert.equal(cfg.storage, undefined);
  assert.throws(
    () => parseRepoStackConfig({ ...ref, serverUrl: "https://mesh-six.example.com", storage: { bucket: "Bad_Bucket" } }),
    /mesh-six:storage\.bucket/,
  );
  assert.throws(
    () => parseRepoStackConfig({ ...ref, serverUrl: "https://mesh-six.example.com", storage: { bucket: "ok-bucket", prefix: "x/" } }),
    /mesh-six:storage: unknown keys prefix/,
  );
});
