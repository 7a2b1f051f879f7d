import type { ResourceValidationPolicy } from "@pulumi/policy";
import { vaultMountProblem, webhookSecretPath as resolveWebhookSecretPath } from "../../lib/vault-path";
import { VAULT_REPO_WEBHOOKS_PREFIX } from "../../domain/names";
import { VAULT_KV_SECRET } from "../../domain/resource-types";
import { reportAll } from "./common";

export const WEBHOOK_SECRET_PREFIX = VAULT_REPO_WEBHOOKS_PREFIX;

/**
 * Vault secrets the stacks write (repo webhook secrets) live under mesh-six/webhooks/repos/, where the server
 * reads them. Not merely under mesh-six/webhooks/: a stack writing to mesh-six/webhooks/orgs/… would replace an
 * organization's secret, which no repo stack may do. Judged by where the write resolves (lib/vault-path.ts: dot
 * segments, percent-escapes, doubled slashes), the same function VaultKvSecret refuses with, so a spelling cannot
 * reach another secret or another mount.
 */
export function checkWebhookSecretPath(type: string, props: Record<string, unknown>, prefix = WEBHOOK_SECRET_PREFIX): string[] {
  if (type !== VAULT_KV_SECRET.token) return [];
  const p = props as { path?: unknown; mount?: unknown };
  const problems: string[] = [];
  const resolved = resolveWebhookSecretPath(p.path, prefix);
  if (resolved.problem !== undefined) problems.push(`writes a Vault secret whose ${resolved.problem}`);
  // An absent mount is the component's default ("secret"); a present one must not move the write.
  const mountProblem = p.mount === undefined ? undefined : vaultMountProblem(p.mount);
  if (mountProblem) problems.push(`writes a Vault secret whose ${mountProblem}`);
  return problems.length > 1 ? [problems.join("; and ")] : problems;
}

export const webhookSecretPath: ResourceValidationPolicy = {
  name: "webhook-secret-path",
  description: "Webhook secrets are written to Vault under mesh-six/webhooks/repos/ (judged after resolving dot segments and escapes).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkWebhookSecretPath(args.type, args.props),
      args,
      `write it to ${WEBHOOK_SECRET_PREFIX}<owner>/<repo> (domain/names.ts derives that path) through a plain mount such as "secret"`,
      reportViolation,
    ),
};
