import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { REPO_REGISTRATION } from "../domain/resource-types";
import { isKnown, requireStringArrays, requireStrings } from "./check";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";
import type { DeliveryFilters } from "../domain/repo-config";

export interface RepoRegistrationArgs {
  /** The repository's owner; with repo, the row's key (`full_name`). Changing either replaces the row. */
  readonly owner: string;
  readonly repo: string;
  /** The repo stack's name (`<owner>.<repo>`, domain/names.ts). */
  readonly stackName: string;
  readonly displayName: string;
  readonly defaultBranch: string;
  /** The ProjectBoard's ids, so services move cards without looking the board up. */
  readonly projectId: pulumi.Input<string>;
  readonly projectNumber: pulumi.Input<number>;
  readonly statusFieldId: pulumi.Input<string>;
  /** Status column name → option id. */
  readonly statusOptions: pulumi.Input<Record<string, string>>;
  readonly priorityFieldId: pulumi.Input<string>;
  /** Priority name → option id. */
  readonly priorityOptions: pulumi.Input<Record<string, string>>;
  /** Text field name (Session ID, Pod Name, Workflow ID) → field id; a name missing here is NULL in the row. */
  readonly textFieldIds: pulumi.Input<Record<string, string>>;
  /** Where the webhook receiver finds the repository's HMAC secret in Vault (the path, never the secret). */
  readonly webhookSecretPath: pulumi.Input<string>;
  readonly webhookId: pulumi.Input<number>;
  /** The auth service's project the repository's agents authenticate with. @default undefined (NULL in the row) */
  readonly authProjectId?: string;
  /** The repo environment's StatefulSet and namespace, where the services find its pod. */
  readonly envStatefulSet: pulumi.Input<string>;
  readonly envNamespace: pulumi.Input<string>;
  /** Issue labels mesh-six acts on. */
  readonly labels: readonly string[];
  /** GitHub logins whose issues and comments mesh-six acts on. */
  readonly allowedAuthors: readonly string[];
  /** What keeps matching deliveries from becoming work (domain/repo-config.ts deliveryFiltersSchema, defaults filled in). */
  readonly filters: DeliveryFilters;
  /** The keys the repo set in its auth project's agent settings, shown on the repo. @default {} */
  readonly agentSettings?: pulumi.Input<Record<string, unknown>>;
}

type RegistrationInputs = { -readonly [K in keyof RepoRegistrationArgs]-?: pulumi.Unwrap<RepoRegistrationArgs[K]> };

// The provider is serialized into Pulumi's provider process, a plain Node.js without tsx or this program's modules:
// like `pg`, the registry module (the one holder of repo_registry's SQL) is required there at run time, by absolute
// path, rather than serialized by value with everything it imports. The program runs from its build (dist/), which
// holds the registry module's build too; run from the sources (the tests), the module is TypeScript, required
// through tsx's require.
const REGISTRY_MODULE = path.join(__dirname, "..", "db", `registry${path.extname(__filename)}`);
const TSX_REQUIRE = REGISTRY_MODULE.endsWith(".ts") ? require.resolve("tsx/cjs/api") : undefined;

async function withRegistry<T>(fn: (registry: typeof import("../db/registry"), client: import("pg").Client) => Promise<T>): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL must be set to register the repository");
  /* eslint-disable @typescript-eslint/no-require-imports -- runs in the dynamic-provider process */
  const { Client } = require("pg") as typeof import("pg");
  const registry = (
    TSX_REQUIRE
      ? (require(TSX_REQUIRE) as typeof import("tsx/cjs/api")).require(REGISTRY_MODULE, REGISTRY_MODULE)
      : require(REGISTRY_MODULE)
  ) as typeof import("../db/registry");
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
export const repoRegistrationProvider = dynamicProvider<RegistrationInputs, RegistrationInputs>(REPO_REGISTRATION, {
  async check(_olds: RegistrationInputs, news: Partial<RegistrationInputs>) {
    const failures = [
      ...requireStrings<RegistrationInputs>(news, [
        "owner",
        "repo",
        "stackName",
        "displayName",
        "defaultBranch",
        "projectId",
        "statusFieldId",
        "priorityFieldId",
        "webhookSecretPath",
        "envStatefulSet",
        "envNamespace",
      ]),
      ...requireStringArrays<RegistrationInputs>(news, ["labels", "allowedAuthors"]),
    ];
    for (const key of ["filters", "agentSettings"] as const) {
      const value = news[key];
      if (isKnown(value) && (typeof value !== "object" || value === null || Array.isArray(value))) {
        failures.push({ property: key, reason: `${key} must be an object, got ${JSON.stringify(value ?? null)}` });
      }
    }
    for (const key of ["projectNumber", "webhookId"] as const) {
      if (isKnown(news[key]) && !Number.isInteger(news[key])) {
        failures.push({ property: key, reason: `${key} must be an integer, got ${JSON.stringify(news[key] ?? null)}` });
      }
    }
    return { inputs: news as RegistrationInputs, failures };
  },
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
  async read(id: string, props?: RegistrationInputs) {
    const exists = await withRegistry((registry, c) => registry.registrationExists(c, id));
    return exists ? { id, props } : { id: "", props: {} as RegistrationInputs };
  },
  async delete(id: string) {
    await withRegistry((registry, c) => registry.deleteRegistration(c, id));
  },
});

/**
 * The repository's row in `repo_registry` (db/migrations), which every mesh-six service reads: upserted on create and
 * update, deleted on destroy. Adopts: a row already there for the repository (a lost state, an earlier onboarding) is
 * overwritten. Postgres is reached through DATABASE_URL in the environment of the Pulumi run, so its password never
 * enters the stack's state; the row holds ids and the webhook secret's Vault path, never a secret, and so do the
 * outputs (the inputs as given). Inputs are refused, naming the property, by the provider's check().
 */
export class RepoRegistration extends TypedDynamicResource {
  constructor(name: string, args: RepoRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(REPO_REGISTRATION, name, { agentSettings: {}, ...args }, opts);
  }
}
