import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, podSpecOf, reportAll } from "./common";

const SECRET_NAME = /TOKEN|PASSWORD|SECRET|KEY/i;

/** No container env var whose name looks secret (TOKEN, PASSWORD, SECRET, KEY) carries a literal value. */
export function checkLiteralSecretEnv(type: string, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const c of containersOf(podSpecOf(type, props))) {
    for (const e of c.env ?? []) {
      if (typeof e?.name === "string" && SECRET_NAME.test(e.name) && e.value !== undefined && e.valueFrom === undefined) {
        problems.push(`container "${c.name}" sets ${e.name} to a literal value`);
      }
    }
  }
  return problems;
}

export const noLiteralSecretEnv: ResourceValidationPolicy = {
  name: "no-literal-secret-env",
  description: "Secret-looking environment variables come from a Secret (valueFrom), never a literal value.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkLiteralSecretEnv(args.type, args.props),
      args,
      "use valueFrom.secretKeyRef (or envFrom) with the value kept in Vault and synced by an ExternalSecret",
      reportViolation,
    ),
};
