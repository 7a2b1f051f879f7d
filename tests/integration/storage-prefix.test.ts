import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateAccessKeyCommand, CreateUserCommand, GetUserPolicyCommand, IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import type { Stack } from "@pulumi/pulumi/automation";
import { selectRepoStack, workspaceSettings } from "../../pulumi/workspace";
import { k8sNameFor, storagePrefixFor, vaultStoragePath } from "../../domain/names";
import { STORAGE_POLICY_NAME } from "../../providers/storage-prefix";
import { type TestDatabase, createTestDatabase } from "../../testkit/database";
import { emulator } from "../../testkit/github-emulator";
import { kubeApi } from "../../testkit/kube-api";
import { readVaultSecret } from "../../testkit/vault-api";

// A repo's storage prefix for real: the project's program through the CLI against the sandbox's versitygw (a real
// S3-compatible store with its IAM service), Vault and Kubernetes. One repo is offboarded with its objects removed,
// the other with them kept; in both, the credentials stop working.

const env = process.env;
const bucket = env.MESH_SIX_S3_BUCKET ?? "mesh-six-artifacts";
const region = "us-east-1";
const root = { accessKeyId: env.MESH_SIX_S3_ACCESS_KEY_ID ?? "", secretAccessKey: env.MESH_SIX_S3_SECRET_ACCESS_KEY ?? "" };
const rootS3 = new S3Client({ endpoint: env.MESH_SIX_S3_ENDPOINT, region, forcePathStyle: true, credentials: root });
const iam = new IAMClient({ endpoint: env.MESH_SIX_S3_IAM_ENDPOINT, region, credentials: root });

const suffix = Date.now().toString(36);
let stateDir: string;
let db: TestDatabase;
const stacks: Stack[] = [];

interface StorageKey {
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_ENDPOINT_URL_S3: string;
  MESH_SIX_STORAGE_BUCKET: string;
  MESH_SIX_STORAGE_PREFIX: string;
}

before(async () => {
  assert.ok(env.MESH_SIX_S3_ENDPOINT, "the sandbox runs the S3 store (scripts/sandbox up storage)");
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-storage-"));
  db = await createTestDatabase("storage_prefix");
});

after(async () => {
  for (const s of stacks) await s.workspace.removeStack(s.name, { force: true }).catch(() => undefined);
  await db?.drop();
  await rm(stateDir, { recursive: true, force: true });
});

async function repoStack(repo: string, keepOnOffboard: boolean): Promise<{ stack: Stack; ref: { owner: string; repo: string } }> {
  const ref = { owner: "mesh-six-sandbox", repo };
  assert.equal((await emulator("POST", "/_emulator/repos", { owner: ref.owner, name: ref.repo, owner_type: "Organization" })).status, 201);
  const settings = workspaceSettings({ ...env, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: "test" });
  settings.envVars = { ...settings.envVars, PULUMI_CONFIG_PASSPHRASE: "test", DATABASE_URL: db.url };
  const stack = await selectRepoStack({ ...ref, serverUrl: "http://127.0.0.1:8080", storage: { bucket, keepOnOffboard } }, settings);
  stacks.push(stack);
  return { stack, ref };
}

function asRepo(key: StorageKey): S3Client {
  return new S3Client({
    endpoint: key.AWS_ENDPOINT_URL_S3,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: key.AWS_ACCESS_KEY_ID, secretAccessKey: key.AWS_SECRET_ACCESS_KEY },
  });
}

async function refused(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "allowed",
    (err: Error) => err.name,
  );
}

async function keysUnder(prefix: string): Promise<string[]> {
  // The bucket is made by the first repo's prefix: before that, nothing is under any prefix.
  const page = await rootS3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix })).catch((err: Error) => {
    if (err.name === "NoSuchBucket") return { Contents: [] };
    throw err;
  });
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

test("onboarding makes the prefix and a key that reaches only it; re-onboarding keeps the key; offboarding removes key, user and objects", async () => {
  const { stack, ref } = await repoStack(`artifacts-${suffix}`, false);
  const prefix = storagePrefixFor(ref);
  const userName = k8sNameFor(ref, "s3");
  console.log(`prefix before onboarding: ${JSON.stringify(await keysUnder(prefix))}`);

  const first = await stack.up({ onOutput: () => undefined });
  assert.equal(first.summary.result, "succeeded");
  assert.equal(first.outputs.storageUrl.value, `s3://${bucket}/${prefix}`);
  assert.ok(!JSON.stringify(first.outputs).includes("AKIA"), "no key among the outputs");

  const key = (await readVaultSecret(vaultStoragePath(ref))) as unknown as StorageKey;
  assert.ok(key?.AWS_ACCESS_KEY_ID && key.AWS_SECRET_ACCESS_KEY, "the key is in Vault at the repo's storage path");
  assert.equal(key.MESH_SIX_STORAGE_BUCKET, bucket);
  assert.equal(key.MESH_SIX_STORAGE_PREFIX, prefix);
  const state = JSON.stringify((await stack.exportStack()).deployment);
  assert.ok(!state.includes(key.AWS_SECRET_ACCESS_KEY) && !state.includes(key.AWS_ACCESS_KEY_ID), "the key is not in the state");

  const policy = await iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: STORAGE_POLICY_NAME }));
  assert.match(decodeURIComponent(policy.PolicyDocument!), new RegExp(`${bucket}/${prefix}\\*`));

  const repoS3 = asRepo(key);
  await repoS3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}recordings/run-1.txt`, Body: "recorded" }));
  const got = await repoS3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}recordings/run-1.txt` }));
  assert.equal(await got.Body!.transformToString(), "recorded");
  assert.equal(
    await refused(repoS3.send(new PutObjectCommand({ Bucket: bucket, Key: `repos/mesh-six-sandbox/someone-else/x.txt`, Body: "no" }))),
    "AccessDenied",
  );
  assert.equal(await refused(repoS3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "repos/" }))), "AccessDenied");
  console.log(`prefix after onboarding: ${JSON.stringify(await keysUnder(prefix))}`);

  const es = await kubeApi("GET", `/apis/external-secrets.io/v1/namespaces/mesh-six/externalsecrets/${k8sNameFor(ref)}-storage`);
  assert.equal(es.status, 200);
  const remote = (es.body as { spec: { data: { remoteRef: { key: string } }[] } }).spec.data.map((d) => d.remoteRef.key);
  assert.deepEqual([...new Set(remote)], [vaultStoragePath(ref)]);

  const again = await stack.up({ onOutput: () => undefined });
  assert.equal(again.summary.result, "succeeded");
  assert.equal(again.summary.resourceChanges?.update ?? 0, 0, "a re-onboard changes nothing");
  const keyAgain = (await readVaultSecret(vaultStoragePath(ref))) as unknown as StorageKey;
  assert.equal(keyAgain.AWS_ACCESS_KEY_ID, key.AWS_ACCESS_KEY_ID, "re-onboarding keeps the key");
  const accessKeys = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  assert.deepEqual(
    accessKeys.AccessKeyMetadata?.map((k) => k.AccessKeyId),
    [key.AWS_ACCESS_KEY_ID],
    "the user has exactly the one key Vault holds",
  );

  const destroyed = await stack.destroy({ onOutput: () => undefined });
  assert.equal(destroyed.summary.result, "succeeded");
  assert.deepEqual(await keysUnder(prefix), [], "the prefix's objects are removed");
  console.log(`prefix after offboarding (keepOnOffboard false): ${JSON.stringify(await keysUnder(prefix))}`);
  assert.equal(await readVaultSecret(vaultStoragePath(ref)), undefined, "the key is gone from Vault");
  assert.notEqual(await refused(iam.send(new ListAccessKeysCommand({ UserName: userName }))), "allowed", "the user is gone");
  assert.notEqual(await refused(repoS3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}recordings/run-1.txt` }))), "allowed");
});

test("offboarding with keepOnOffboard keeps the prefix's objects and still revokes the key", async () => {
  const { stack, ref } = await repoStack(`kept-${suffix}`, true);
  const prefix = storagePrefixFor(ref);
  assert.equal((await stack.up({ onOutput: () => undefined })).summary.result, "succeeded");
  const key = (await readVaultSecret(vaultStoragePath(ref))) as unknown as StorageKey;
  await asRepo(key).send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}artifact.bin`, Body: "kept" }));

  assert.equal((await stack.destroy({ onOutput: () => undefined })).summary.result, "succeeded");
  assert.deepEqual(await keysUnder(prefix), [`${prefix}artifact.bin`], "the objects are kept");
  console.log(`prefix after offboarding (keepOnOffboard true): ${JSON.stringify(await keysUnder(prefix))}`);
  assert.equal(await readVaultSecret(vaultStoragePath(ref)), undefined);
  assert.notEqual(await refused(asRepo(key).send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}artifact.bin` }))), "allowed");
});

test("a user and key left by a create that was interrupted are adopted: the up succeeds and only the key Vault holds is left", async () => {
  const { stack, ref } = await repoStack(`adopted-${suffix}`, false);
  const userName = k8sNameFor(ref, "s3");
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const orphan = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!.AccessKeyId!;

  assert.equal((await stack.up({ onOutput: () => undefined })).summary.result, "succeeded");
  const key = (await readVaultSecret(vaultStoragePath(ref))) as unknown as StorageKey;
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata?.map((k) => k.AccessKeyId);
  assert.deepEqual(keys, [key.AWS_ACCESS_KEY_ID], "the orphaned key is gone; the user has the one key Vault holds");
  assert.notEqual(key.AWS_ACCESS_KEY_ID, orphan);
  assert.equal((await stack.destroy({ onOutput: () => undefined })).summary.result, "succeeded");
});
