import type { ResourceValidationPolicy } from "@pulumi/policy";
import { VAULT_REPO_WEBHOOKS_PREFIX } from "../../stacks/names";
import { reportAll } from "./common";

export const VAULT_KV_SECRET_TYPE = "pulumi-nodejs:dynamic/vault:KvSecret";
export const WEBHOOK_SECRET_PREFIX = VAULT_REPO_WEBHOOKS_PREFIX;

/**
 * Vault secrets the stacks write (repo webhook secrets) live under mesh-six/webhooks/repos/, where the server
 * reads them. Not merely under mesh-six/webhooks/: a stack writing to mesh-six/webhooks/orgs/… would replace an
 * organization's secret, which no repo stack may do.
 */
export function checkWebhookSecretPath(type: string, props: Record<string, unknown>, prefix = WEBHOOK_SECRET_PREFIX): string[] {
  if (type !== VAULT_KV_SECRET_TYPE) return [];
  const path = (props as { path?: unknown }).path;
  if (typeof path === "string" && path.startsWith(prefix) && path.length > prefix.length) return [];
  return [`writes the Vault secret ${JSON.stringify(path)}, outside ${prefix}`];
}

export const webhookSecretPath: ResourceValidationPolicy = {
  name: "webhook-secret-path",
  description: "Webhook secrets are written to Vault under mesh-six/webhooks/repos/.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkWebhookSecretPath(args.type, args.props),
      args,
      `write it to ${WEBHOOK_SECRET_PREFIX}<owner>/<repo> (stacks/names.ts derives that path)`,
      reportViolation,
    ),
};
