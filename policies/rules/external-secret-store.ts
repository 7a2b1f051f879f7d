import type { ResourceValidationPolicy } from "@pulumi/policy";
import { reportAll } from "./common";

export const DEFAULT_SECRET_STORE = "vault-backend";
const TYPES = ["kubernetes:external-secrets.io/v1:ExternalSecret", "kubernetes:external-secrets.io/v1beta1:ExternalSecret"];

/** An ExternalSecret reads through the configured ClusterSecretStore and sets a refreshInterval. */
export function checkExternalSecret(type: string, props: Record<string, unknown>, store = DEFAULT_SECRET_STORE): string[] {
  if (!TYPES.includes(type)) return [];
  const spec = (props as { spec?: { secretStoreRef?: { kind?: string; name?: string }; refreshInterval?: unknown } }).spec;
  const problems: string[] = [];
  const ref = spec?.secretStoreRef;
  if (ref?.kind !== "ClusterSecretStore" || ref?.name !== store) {
    problems.push(`secretStoreRef is ${ref?.kind ?? "(no kind)"}/${ref?.name ?? "(no name)"}, not ClusterSecretStore/${store}`);
  }
  if (typeof spec?.refreshInterval !== "string" || spec.refreshInterval === "") problems.push("refreshInterval is not set");
  return problems;
}

export const externalSecretStore: ResourceValidationPolicy = {
  name: "external-secret-store",
  description: "ExternalSecrets read through the configured ClusterSecretStore and set refreshInterval.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { store: { type: "string", default: DEFAULT_SECRET_STORE } } },
  validateResource: (args, reportViolation) => {
    const { store } = args.getConfig<{ store?: string }>();
    reportAll(
      checkExternalSecret(args.type, args.props, store ?? DEFAULT_SECRET_STORE),
      args,
      `set spec.secretStoreRef to { kind: ClusterSecretStore, name: ${store ?? DEFAULT_SECRET_STORE} } and spec.refreshInterval (e.g. "1h")`,
      reportViolation,
    );
  },
};
