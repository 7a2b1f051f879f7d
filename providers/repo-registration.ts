import path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/**
 * The repository's row in `repo_registry` (db/migrations), which every mesh-six service reads:
 * upserted on create and update, deleted on destroy. Postgres is reached through DATABASE_URL in the
 * environment of the Pulumi run, so its password never enters the stack's state.
 */
export interface RepoRegistrationArgs {
  owner: string;
  repo: string;
  stackName: string;
  displayName: string;
  defaultBranch: string;
  projectId: pulumi.Input<string>;
  projectNumber: pulumi.Input<number>;
  statusFieldId: pulumi.Input<string>;
  statusOptions: pulumi.Input<Record<string, string>>;
  priorityFieldId: pulumi.Input<string>;
  priorityOptions: pulumi.Input<Record<string, string>>;
  textFieldIds: pulumi.Input<Record<string, string>>;
  webhookSecretPath: pulumi.Input<string>;
  webhookId: pulumi.Input<number>;
  authProjectId?: string;
  envStatefulSet: pulumi.Input<string>;
  envNamespace: pulumi.Input<string>;
  labels: string[];
  allowedAuthors: string[];
}

type RegistrationInputs = { [K in keyof RepoRegistrationArgs]-?: pulumi.Unwrap<RepoRegistrationArgs[K]> };

// The provider is serialized into Pulumi's provider process, a plain Node.js without tsx or this program's modules:
// like `pg`, the registry module (the one holder of repo_registry's SQL) is required there at run time, by absolute
// path and through tsx's require, rather than serialized by value with everything it imports.
const REGISTRY_MODULE = path.join(__dirname, "..", "db", "registry.ts");
const TSX_REQUIRE = require.resolve("tsx/cjs/api");

async function withRegistry<T>(fn: (registry: typeof import("../db/registry"), client: import("pg").Client) => Promise<T>): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL must be set to register the repository");
  /* eslint-disable @typescript-eslint/no-require-imports -- runs in the dynamic-provider process */
  const { Client } = require("pg") as typeof import("pg");
  const tsx = require(TSX_REQUIRE) as typeof import("tsx/cjs/api");
  const registry = tsx.require(REGISTRY_MODULE, REGISTRY_MODULE) as typeof import("../db/registry");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(registry, client);
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") {
      throw new Error("the repo_registry table does not exist: apply the database migrations (npm run migrate)");
    }
    throw err;
  } finally {
    await client.end();
  }
}

/** Exported for the test that runs it as Pulumi's provider process does. */
export const repoRegistrationProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RegistrationInputs) {
    await withRegistry((registry, c) => registry.upsertRegistration(c, inputs));
    return { id: `${inputs.owner}/${inputs.repo}`, outs: inputs };
  },
  async diff(id: string, olds: RegistrationInputs, news: RegistrationInputs) {
    const changes = JSON.stringify(olds) !== JSON.stringify(news);
    const replaces = `${news.owner}/${news.repo}` === id ? [] : ["owner", "repo"];
    return { changes, replaces, deleteBeforeReplace: true };
  },
  async update(_id: string, _olds: RegistrationInputs, news: RegistrationInputs) {
    await withRegistry((registry, c) => registry.upsertRegistration(c, news));
    return { outs: news };
  },
  async read(id: string, props: RegistrationInputs) {
    const exists = await withRegistry((registry, c) => registry.registrationExists(c, id));
    return exists ? { id, props } : { id: "", props: {} };
  },
  async delete(id: string) {
    await withRegistry((registry, c) => registry.deleteRegistration(c, id));
  },
};

export class RepoRegistration extends pulumi.dynamic.Resource {
  constructor(name: string, args: RepoRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(repoRegistrationProvider, name, { authProjectId: "", ...args }, opts, "registry", "RepoRegistration");
  }
}
