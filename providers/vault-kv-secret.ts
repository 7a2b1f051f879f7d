import * as pulumi from "@pulumi/pulumi";
import { VAULT_KV_SECRET } from "../domain/resource-types";
import { vaultMountProblem, webhookSecretPath } from "../lib/vault-path";
import { isKnown, stateGiven, withDefaults } from "./check";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

export interface VaultKvSecretArgs {
  /**
   * Path below the mount, under mesh-six/webhooks/ (e.g. "mesh-six/webhooks/repos/acme/widgets"): the only secrets
   * stacks write are webhook secrets, and the `webhook-secret-path` policy refuses a repo stack's outside repos/.
   * Written as it resolves (lib/vault-path.ts), so `a//b/` is written as `a/b`; a path that resolves outside is refused.
   */
  readonly path: pulumi.Input<string>;
  /** The key/value pairs; kept a Pulumi secret in the state whatever is passed. */
  readonly data: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The KV v2 mount: plain segments, no dot segments or escapes. @default "secret" */
  readonly mount?: pulumi.Input<string>;
}

export const VAULT_KV_DEFAULT_MOUNT = "secret";

interface KvInputs {
  path: string;
  mount: string;
  data: Record<string, string>;
}

interface KvOutputs extends KvInputs {
  version: number;
}

/**
 * One call to Vault's HTTP API for the secret at `mount`/`path`, `api` being `data` (its versions) or `metadata` (the
 * secret itself). Uses only globals (fetch, process), as the provider is serialized into the dynamic-provider process.
 */
async function vaultRequest(
  action: "write" | "read" | "delete",
  api: "data" | "metadata",
  secret: { mount: string; path: string },
  init: { method?: string; body?: unknown } = {},
): Promise<Response> {
  const addr = process.env.VAULT_ADDR;
  const token = process.env.VAULT_TOKEN;
  if (!addr || !token) throw new Error(`VAULT_ADDR and VAULT_TOKEN must be set to ${action} Vault secrets`);
  // Each segment escaped: a `?` or `#` in a key would otherwise cut the URL short of the path that was checked.
  const url = `${addr.replace(/\/$/, "")}/v1/${secret.mount}/${api}/${secret.path.split("/").map(encodeURIComponent).join("/")}`;
  return fetch(url, {
    method: init.method ?? "GET",
    headers: { "X-Vault-Token": token, ...(init.body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

async function writeSecret(news: KvInputs): Promise<KvOutputs> {
  const res = await vaultRequest("write", "data", news, { method: "POST", body: { data: news.data } });
  if (!res.ok) throw new Error(`Vault refused writing ${news.mount}/${news.path}: HTTP ${res.status}`);
  const body = (await res.json()) as { data: { version: number } };
  return { ...news, version: body.data.version };
}

dynamicProvider<KvInputs, KvOutputs>(VAULT_KV_SECRET, {
  // The path is judged, and written, as Vault resolves it: the same function the webhook-secret-path policy uses.
  async check(_olds: KvInputs, news: Partial<KvInputs>) {
    const inputs = withDefaults(news, { mount: VAULT_KV_DEFAULT_MOUNT });
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (isKnown(inputs.path)) {
      const resolved = webhookSecretPath(inputs.path);
      if (resolved.problem === undefined) inputs.path = resolved.path;
      else failures.push({ property: "path", reason: resolved.problem });
    }
    const mountProblem = isKnown(inputs.mount) ? vaultMountProblem(inputs.mount) : undefined;
    if (mountProblem) failures.push({ property: "mount", reason: mountProblem });
    if (isKnown(inputs.data) && (inputs.data === null || typeof inputs.data !== "object" || Array.isArray(inputs.data))) {
      failures.push({ property: "data", reason: "data must be an object of key/value pairs" });
    }
    return { inputs: inputs as KvInputs, failures };
  },

  async create(inputs: KvInputs) {
    return { id: `${inputs.mount}/${inputs.path}`, outs: await writeSecret(inputs) };
  },

  async diff(_id: string, olds: KvOutputs, news: KvInputs) {
    const replaces = (["mount", "path"] as const).filter((k) => olds[k] !== news[k]);
    const dataChanged = JSON.stringify(sortKeys(olds.data)) !== JSON.stringify(sortKeys(news.data));
    return {
      changes: replaces.length > 0 || dataChanged,
      replaces,
      deleteBeforeReplace: false,
    };

    function sortKeys(o: Record<string, string>) {
      return Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => a.localeCompare(b)));
    }
  },

  async update(_id: string, _olds: KvOutputs, news: KvInputs) {
    return { outs: await writeSecret(news) };
  },

  async read(id: string, state?: KvOutputs) {
    const props = stateGiven(state);
    const res = await vaultRequest("read", "data", props);
    if (res.status === 404) return { id: "" };
    if (!res.ok) throw new Error(`Vault refused reading ${props.mount}/${props.path}: HTTP ${res.status}`);
    const body = (await res.json()) as { data: { data: Record<string, string>; metadata: { version: number } } };
    return { id, props: { ...props, data: body.data.data, version: body.data.metadata.version } };
  },

  async delete(_id: string, props: KvOutputs) {
    // Deleting the metadata removes every version, so nothing of the secret is left behind.
    const res = await vaultRequest("delete", "metadata", props, { method: "DELETE" });
    if (!res.ok && res.status !== 404) throw new Error(`Vault refused deleting ${props.mount}/${props.path}: HTTP ${res.status}`);
  },
});

/**
 * A secret in Vault's KV v2 engine, written over Vault's HTTP API (the Vault Pulumi provider cannot be built here: the
 * Go module proxy refuses its module path). Vault is reached through VAULT_ADDR and VAULT_TOKEN in the environment of
 * the Pulumi run, so the token never enters the stack's state. Adopts: a secret already at the path gets a new version
 * with this data; destroy deletes every version, those written before it too. Never outputs `data` (a Pulumi secret in
 * the state); outputs the path as written, the mount and the version. The mount's default, and refusing a path or
 * mount (naming the property), are the provider's check().
 */
export class VaultKvSecret extends TypedDynamicResource {
  declare public readonly path: pulumi.Output<string>;
  declare public readonly mount: pulumi.Output<string>;
  declare public readonly version: pulumi.Output<number>;

  constructor(name: string, args: VaultKvSecretArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      VAULT_KV_SECRET,
      name,
      { path: args.path, mount: args.mount, data: pulumi.secret(args.data), version: undefined },
      { ...opts, additionalSecretOutputs: ["data"] },
    );
  }
}
