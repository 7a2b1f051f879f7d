import * as pulumi from "@pulumi/pulumi";
import { vaultMountProblem, webhookSecretPath } from "../lib/vault-path";

/**
 * A secret in Vault's KV v2 engine, written over Vault's HTTP API. (The Vault Pulumi provider cannot be built
 * here: the Go module proxy refuses its module path.) Vault is reached through VAULT_ADDR and VAULT_TOKEN in the
 * environment of the Pulumi run, so the token never enters the stack's state.
 */
export interface VaultKvSecretArgs {
  /**
   * Path below the mount, under mesh-six/webhooks/ (e.g. "mesh-six/webhooks/repos/acme/widgets"): the only secrets
   * stacks write are webhook secrets, and the `webhook-secret-path` policy refuses a repo stack's outside repos/.
   * Written as it resolves (lib/vault-path.ts), so `a//b/` is written as `a/b`; a path that resolves outside is refused.
   */
  path: pulumi.Input<string>;
  /** The key/value pairs; pass a Pulumi secret — it stays one in the state. */
  data: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The KV v2 mount. Default: "secret". */
  mount?: pulumi.Input<string>;
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

// Everything the provider does lives inside its methods: Pulumi serializes this object into the dynamic
// provider process, and methods that only use globals (fetch, process) serialize cleanly.
const vaultKvProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: KvInputs) {
    const outs = await this.update!("", inputs, inputs);
    return { id: `${inputs.mount}/${inputs.path}`, outs: outs.outs };
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

  async update(_id: string, _olds: KvOutputs | KvInputs, news: KvInputs) {
    const addr = process.env.VAULT_ADDR;
    const token = process.env.VAULT_TOKEN;
    if (!addr || !token) throw new Error("VAULT_ADDR and VAULT_TOKEN must be set to write Vault secrets");
    // Each segment escaped: a `?` or `#` in a key would otherwise cut the URL short of the path that was checked.
    const url = `${addr.replace(/\/$/, "")}/v1/${news.mount}/data/${news.path.split("/").map(encodeURIComponent).join("/")}`;
    const res = await fetch(url, {
      method: "POST",
      headers: { "X-Vault-Token": token, "Content-Type": "application/json" },
      body: JSON.stringify({ data: news.data }),
    });
    if (!res.ok) throw new Error(`Vault refused writing ${news.mount}/${news.path}: HTTP ${res.status}`);
    const body = (await res.json()) as { data: { version: number } };
    return { outs: { ...news, version: body.data.version } };
  },

  async read(id: string, props: KvOutputs) {
    const addr = process.env.VAULT_ADDR;
    const token = process.env.VAULT_TOKEN;
    if (!addr || !token) throw new Error("VAULT_ADDR and VAULT_TOKEN must be set to read Vault secrets");
    const res = await fetch(
      `${addr.replace(/\/$/, "")}/v1/${props.mount}/data/${props.path.split("/").map(encodeURIComponent).join("/")}`,
      {
        headers: { "X-Vault-Token": token },
      },
    );
    if (res.status === 404) return { id: "", props: {} };
    if (!res.ok) throw new Error(`Vault refused reading ${props.mount}/${props.path}: HTTP ${res.status}`);
    const body = (await res.json()) as { data: { data: Record<string, string>; metadata: { version: number } } };
    return { id, props: { ...props, data: body.data.data, version: body.data.metadata.version } };
  },

  async delete(_id: string, props: KvOutputs) {
    const addr = process.env.VAULT_ADDR;
    const token = process.env.VAULT_TOKEN;
    if (!addr || !token) throw new Error("VAULT_ADDR and VAULT_TOKEN must be set to delete Vault secrets");
    // Deleting the metadata removes every version, so nothing of the secret is left behind.
    const res = await fetch(
      `${addr.replace(/\/$/, "")}/v1/${props.mount}/metadata/${props.path.split("/").map(encodeURIComponent).join("/")}`,
      {
        method: "DELETE",
        headers: { "X-Vault-Token": token },
      },
    );
    if (!res.ok && res.status !== 404) throw new Error(`Vault refused deleting ${props.mount}/${props.path}: HTTP ${res.status}`);
  },
};

export class VaultKvSecret extends pulumi.dynamic.Resource {
  declare public readonly path: pulumi.Output<string>;
  declare public readonly mount: pulumi.Output<string>;
  declare public readonly version: pulumi.Output<number>;

  constructor(name: string, args: VaultKvSecretArgs, opts?: pulumi.CustomResourceOptions) {
    // Plain strings are checked here, so a bad literal fails at construction with a stack trace into the program;
    // outputs are checked when they resolve, before the provider can write anything.
    const path = typeof args.path === "string" ? checkedPath(name, args.path) : pulumi.output(args.path).apply((p) => checkedPath(name, p));
    const mountInput = args.mount ?? VAULT_KV_DEFAULT_MOUNT;
    const mount =
      typeof mountInput === "string" ? checkedMount(name, mountInput) : pulumi.output(mountInput).apply((m) => checkedMount(name, m));
    super(
      vaultKvProvider,
      name,
      { path, mount, data: pulumi.secret(args.data), version: undefined },
      { ...opts, additionalSecretOutputs: ["data"] },
      "vault",
      "KvSecret",
    );
  }
}

/** The path as Vault resolves it; throws, naming the resource, where the webhook-secret-path policy would refuse it. */
function checkedPath(name: string, raw: string): string {
  const resolved = webhookSecretPath(raw);
  if (resolved.problem !== undefined) throw new Error(`VaultKvSecret ${name}: ${resolved.problem}`);
  return resolved.path;
}

function checkedMount(name: string, mount: string): string {
  const problem = vaultMountProblem(mount);
  if (problem) throw new Error(`VaultKvSecret ${name}: ${problem}`);
  return mount;
}
