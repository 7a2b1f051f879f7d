import * as pulumi from "@pulumi/pulumi";
import { STORAGE_PREFIX } from "../domain/resource-types";
import { vaultKvDestroy, vaultKvRead, vaultKvWrite } from "./vault-kv-api";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

/**
 * A repository's prefix in the platform's S3-compatible store, with credentials that reach that prefix and nothing
 * else: an IAM user of its own, an inline user policy allowing object reads, writes and deletes below the prefix and
 * listing only under it, and one access key. The key is written straight to Vault (`vaultPath`), whence the repo's
 * ExternalSecret brings it into the env pod; it is never an input, an output or part of the state.
 *
 * Adopts what a run that died half-way left: an existing user is taken over, and its key kept when Vault still holds
 * it. Offboarding deletes the key, the policy and the user always, and the prefix's objects unless `keepObjects`.
 *
 * The store is reached with the root (or an administrator's) keys from the Pulumi run's environment:
 * MESH_SIX_S3_ENDPOINT, MESH_SIX_S3_IAM_ENDPOINT, MESH_SIX_S3_ACCESS_KEY_ID, MESH_SIX_S3_SECRET_ACCESS_KEY; Vault through
 * VAULT_ADDR and VAULT_TOKEN.
 */
export interface StoragePrefixArgs {
  /** The shared bucket; created when missing. */
  readonly bucket: pulumi.Input<string>;
  /** The repo's prefix inside the bucket, ending in "/" (e.g. "repos/acme/widgets/"). */
  readonly prefix: pulumi.Input<string>;
  /** The IAM user that holds the repo's key (at most 64 characters of `[\w+=,.@-]`). */
  readonly userName: pulumi.Input<string>;
  /** Where in Vault's KV v2 mount the key is written. */
  readonly vaultPath: pulumi.Input<string>;
  /** The endpoint written beside the key for the env pod; @default the MESH_SIX_S3_ENDPOINT of the run. */
  readonly podEndpoint?: pulumi.Input<string>;
  /** Keep the prefix's objects when the resource is deleted (offboarding). @default true */
  readonly keepObjects?: pulumi.Input<boolean>;
  /** The KV v2 mount. @default "secret" */
  readonly vaultMount?: pulumi.Input<string>;
}

/** The keys written to Vault, which are also the env pod's variable names. */
export const STORAGE_SECRET_KEYS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_ENDPOINT_URL_S3",
  "MESH_SIX_STORAGE_BUCKET",
  "MESH_SIX_STORAGE_PREFIX",
] as const;

export const STORAGE_POLICY_NAME = "mesh-six-prefix";

interface PrefixInputs {
  bucket: string;
  prefix: string;
  userName: string;
  vaultPath: string;
  vaultMount: string;
  podEndpoint: string;
  keepObjects: boolean;
}

/**
 * The AWS SDK's modules, loaded when a method runs: Pulumi serializes the provider's functions into the
 * dynamic-provider process, and a module captured at load time would be serialized with them.
 */
function sdks() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in the dynamic-provider process
  const s3sdk = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs in the dynamic-provider process
  const iamsdk = require("@aws-sdk/client-iam") as typeof import("@aws-sdk/client-iam");
  return { s3sdk, iamsdk };
}

/** The store's and Vault's endpoints and keys, from the Pulumi run's environment. */
function storeClients() {
  const env = process.env;
  const missing = ["MESH_SIX_S3_ENDPOINT", "MESH_SIX_S3_IAM_ENDPOINT", "MESH_SIX_S3_ACCESS_KEY_ID", "MESH_SIX_S3_SECRET_ACCESS_KEY"].filter(
    (k) => !env[k],
  );
  if (missing.length > 0) throw new Error(`storage prefixes need the S3 store: ${missing.join(", ")} not set`);
  const { s3sdk, iamsdk } = sdks();
  const credentials = { accessKeyId: env.MESH_SIX_S3_ACCESS_KEY_ID!, secretAccessKey: env.MESH_SIX_S3_SECRET_ACCESS_KEY! };
  const region = env.MESH_SIX_S3_REGION ?? "us-east-1";
  return {
    s3: new s3sdk.S3Client({ endpoint: env.MESH_SIX_S3_ENDPOINT, region, forcePathStyle: true, credentials }),
    iam: new iamsdk.IAMClient({ endpoint: env.MESH_SIX_S3_IAM_ENDPOINT, region, credentials }),
  };
}

/** The prefix's policy: objects below it, and listing only with a prefix inside it. */
export function prefixPolicy(bucket: string, prefix: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: [`arn:aws:s3:::${bucket}/${prefix}*`],
      },
      {
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [`arn:aws:s3:::${bucket}`],
        Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } },
      },
    ],
  });
}

/** The store's error code: the SDK's IAM client names its errors after the code with "Exception" added. */
function errorName(err: unknown): string {
  const name = (err as { name?: string }).name ?? (err as { Code?: string }).Code ?? "";
  return name.replace(/Exception$/, "");
}

/** Creates or adopts bucket, user and policy, and makes sure Vault holds a live key of the user. */
async function ensurePrefix(inputs: PrefixInputs): Promise<void> {
  const { s3sdk, iamsdk } = sdks();
  const { s3, iam } = storeClients();
  await s3.send(new s3sdk.CreateBucketCommand({ Bucket: inputs.bucket })).catch((err) => {
    if (!["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].includes(errorName(err))) throw err;
  });
  await iam.send(new iamsdk.CreateUserCommand({ UserName: inputs.userName })).catch((err) => {
    if (errorName(err) !== "EntityAlreadyExists") throw err;
  });
  await iam.send(
    new iamsdk.PutUserPolicyCommand({
      UserName: inputs.userName,
      PolicyName: STORAGE_POLICY_NAME,
      PolicyDocument: prefixPolicy(inputs.bucket, inputs.prefix),
    }),
  );

  const current = (await vaultKvRead(inputs.vaultMount, inputs.vaultPath))?.data ?? {};
  const keys = (await iam.send(new iamsdk.ListAccessKeysCommand({ UserName: inputs.userName }))).AccessKeyMetadata ?? [];
  const live = keys.some((k) => k.AccessKeyId === current.AWS_ACCESS_KEY_ID);
  const sameTarget =
    current.MESH_SIX_STORAGE_BUCKET === inputs.bucket &&
    current.MESH_SIX_STORAGE_PREFIX === inputs.prefix &&
    current.AWS_ENDPOINT_URL_S3 === inputs.podEndpoint;
  if (live && sameTarget) return;

  let accessKeyId = current.AWS_ACCESS_KEY_ID;
  let secretAccessKey = current.AWS_SECRET_ACCESS_KEY;
  if (!live) {
    // A key whose secret nobody holds is useless and a risk: only the key Vault has may exist.
    for (const k of keys) await iam.send(new iamsdk.DeleteAccessKeyCommand({ UserName: inputs.userName, AccessKeyId: k.AccessKeyId }));
    const created = (await iam.send(new iamsdk.CreateAccessKeyCommand({ UserName: inputs.userName }))).AccessKey!;
    accessKeyId = created.AccessKeyId!;
    secretAccessKey = created.SecretAccessKey!;
  }
  const data = {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_ENDPOINT_URL_S3: inputs.podEndpoint,
    MESH_SIX_STORAGE_BUCKET: inputs.bucket,
    MESH_SIX_STORAGE_PREFIX: inputs.prefix,
  };
  await vaultKvWrite(inputs.vaultMount, inputs.vaultPath, data);
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IAM_USER = /^[\w+=,.@-]{1,64}$/;

dynamicProvider<PrefixInputs, PrefixInputs>(STORAGE_PREFIX, {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs: PrefixInputs = {
      ...news,
      vaultMount: news.vaultMount ?? "secret",
      keepObjects: news.keepObjects ?? true,
      podEndpoint: news.podEndpoint ?? process.env.MESH_SIX_S3_ENDPOINT ?? "",
    };
    if (!BUCKET.test(inputs.bucket ?? ""))
      failures.push({ property: "bucket", reason: "expected an S3 bucket name (3-63 lower-case letters, digits, '.', '-')" });
    if (!/^[^/].*\/$/.test(inputs.prefix ?? "") || inputs.prefix.includes("//") || inputs.prefix.split("/").includes(".."))
      failures.push({ property: "prefix", reason: "expected a relative key prefix ending in '/', without '//' or '..'" });
    if (!IAM_USER.test(inputs.userName ?? ""))
      failures.push({ property: "userName", reason: "expected an IAM user name (1-64 of letters, digits, +=,.@_-)" });
    if (!inputs.vaultPath || inputs.vaultPath.startsWith("/"))
      failures.push({ property: "vaultPath", reason: "expected a path below the KV mount" });
    return { inputs, failures };
  },

  async create(inputs) {
    await ensurePrefix(inputs);
    return { id: `${inputs.bucket}/${inputs.prefix}`, outs: inputs };
  },

  async diff(_id, olds, news) {
    const replaces = (["bucket", "prefix", "userName", "vaultPath", "vaultMount"] as const).filter((k) => olds[k] !== news[k]);
    return {
      changes: replaces.length > 0 || olds.keepObjects !== news.keepObjects || olds.podEndpoint !== news.podEndpoint,
      replaces,
      deleteBeforeReplace: true,
    };
  },

  async update(_id, _olds, news) {
    await ensurePrefix(news);
    return { outs: news };
  },

  async read(id, props) {
    const { iamsdk } = sdks();
    const { iam } = storeClients();
    try {
      await iam.send(new iamsdk.GetUserPolicyCommand({ UserName: props!.userName, PolicyName: STORAGE_POLICY_NAME }));
    } catch (err) {
      if (errorName(err) === "NoSuchEntity") return { id: "", props: {} as PrefixInputs };
      throw err;
    }
    return { id, props: props! };
  },

  async delete(_id, props) {
    const { s3sdk, iamsdk } = sdks();
    const { s3, iam } = storeClients();
    const gone = (err: unknown) => {
      if (errorName(err) !== "NoSuchEntity") throw err;
    };
    const keys = await iam.send(new iamsdk.ListAccessKeysCommand({ UserName: props.userName })).then(
      (r) => r.AccessKeyMetadata ?? [],
      (err) => (gone(err), []),
    );
    for (const k of keys)
      await iam.send(new iamsdk.DeleteAccessKeyCommand({ UserName: props.userName, AccessKeyId: k.AccessKeyId })).catch(gone);
    await iam.send(new iamsdk.DeleteUserPolicyCommand({ UserName: props.userName, PolicyName: STORAGE_POLICY_NAME })).catch(gone);
    await iam.send(new iamsdk.DeleteUserCommand({ UserName: props.userName })).catch(gone);
    if (!props.keepObjects) {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new s3sdk.ListObjectsV2Command({ Bucket: props.bucket, Prefix: props.prefix, ContinuationToken: token }),
        );
        const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (objects.length > 0)
          await s3.send(new s3sdk.DeleteObjectsCommand({ Bucket: props.bucket, Delete: { Objects: objects, Quiet: true } }));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    await vaultKvDestroy(props.vaultMount, props.vaultPath);
  },
});

/** The repo's storage prefix (see StoragePrefixArgs); its key lives only in Vault. */
export class StoragePrefix extends TypedDynamicResource {
  declare public readonly bucket: pulumi.Output<string>;
  declare public readonly prefix: pulumi.Output<string>;
  declare public readonly userName: pulumi.Output<string>;
  declare public readonly keepObjects: pulumi.Output<boolean>;

  constructor(name: string, args: StoragePrefixArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      STORAGE_PREFIX,
      name,
      {
        bucket: args.bucket,
        prefix: args.prefix,
        userName: args.userName,
        vaultPath: args.vaultPath,
        vaultMount: args.vaultMount,
        podEndpoint: args.podEndpoint,
        keepObjects: args.keepObjects,
      },
      opts,
    );
  }
}
