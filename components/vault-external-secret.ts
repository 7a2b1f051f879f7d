import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../domain/resource-types";

export interface VaultExternalSecretArgs {
  /** Namespace of the ExternalSecret and of the Secret it creates. */
  readonly namespace: pulumi.Input<string>;
  /** Name of the Secret ESO creates; the ExternalSecret carries the same name. */
  readonly secretName: pulumi.Input<string>;
  /** Path under the KV v2 mount "secret", e.g. "mesh-six/platform". */
  readonly vaultPath: pulumi.Input<string>;
  /** Each target key is read from the Vault property of the same name; at least one, each a valid Secret key, no repeats. */
  readonly keys: readonly string[];
  /** Further Vault secrets copied into the same Secret, each key again from the property of its name. @default none */
  readonly moreSources?: readonly { readonly vaultPath: pulumi.Input<string>; readonly keys: readonly string[] }[];
  /** How often ESO re-reads Vault. @default "1h" (EXTERNAL_SECRET_DEFAULT_REFRESH) */
  readonly refreshInterval?: string;
  /** The ClusterSecretStore to read through. @default "vault-backend" (EXTERNAL_SECRET_DEFAULT_STORE) */
  readonly storeName?: string;
}

export const EXTERNAL_SECRET_DEFAULT_REFRESH = "1h";
export const EXTERNAL_SECRET_DEFAULT_STORE = "vault-backend";

// Kubernetes accepts these characters in a Secret's data keys; anything else would make ESO fail at sync time,
// long after `pulumi up` reported success.
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * A Kubernetes Secret kept in sync with one Vault KV v2 secret by External Secrets Operator: one ExternalSecret that
 * owns its target Secret (deleting it garbage-collects the Secret). Adopts nothing: an ExternalSecret of that name
 * already there makes the create fail. The values never pass through Pulumi: the stack declares only which keys to
 * copy, so nothing secret lands in its state or outputs (only the Secret's name).
 */
export class VaultExternalSecret extends pulumi.ComponentResource {
  /** The Secret's name; depends on the ExternalSecret, so consumers are created after it. */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: VaultExternalSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    const sources = [{ vaultPath: args.vaultPath, keys: args.keys }, ...(args.moreSources ?? [])];
    checkKeys(
      name,
      args.keys,
      sources.flatMap((s) => s.keys),
    );
    super(COMPONENT_TYPES.vaultExternalSecret, name, {}, opts);

    const externalSecret = new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: {
          name: args.secretName,
          namespace: args.namespace,
          labels: { "app.kubernetes.io/part-of": "mesh-six", "app.kubernetes.io/managed-by": "pulumi" },
        },
        spec: {
          refreshInterval: args.refreshInterval ?? EXTERNAL_SECRET_DEFAULT_REFRESH,
          secretStoreRef: { kind: "ClusterSecretStore", name: args.storeName ?? EXTERNAL_SECRET_DEFAULT_STORE },
          // Owner: deleting the ExternalSecret (offboarding, destroy) garbage-collects the Secret with it.
          target: { name: args.secretName, creationPolicy: "Owner" },
          data: sources.flatMap((s) => s.keys.map((k) => ({ secretKey: k, remoteRef: { key: s.vaultPath, property: k } }))),
        },
      },
      { parent: this },
    );

    // Through the URN (known during preview) rather than the id, so previews still show the name.
    this.secretName = pulumi.all([externalSecret.urn, args.secretName]).apply(([, secretName]) => secretName);
    this.registerOutputs({ secretName: this.secretName });
  }
}

function checkKeys(name: string, primary: readonly string[], keys: readonly string[]): void {
  if (primary.length === 0) throw new Error(`VaultExternalSecret ${name}: keys must name at least one key`);
  const bad = keys.filter((k) => !SECRET_KEY.test(k));
  if (bad.length > 0) throw new Error(`VaultExternalSecret ${name}: keys ${bad.join(", ")} are not valid Secret keys`);
  const dupes = keys.filter((k, i) => keys.indexOf(k) !== i);
  if (dupes.length > 0) throw new Error(`VaultExternalSecret ${name}: keys ${dupes.join(", ")} appear more than once`);
}
