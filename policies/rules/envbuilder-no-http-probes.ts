import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, podSpecOf, reportAll } from "./common";

/**
 * Envbuilder spends minutes building the devcontainer before anything listens; an HTTP probe kills or un-readies
 * the pod in the middle of the build.
 */
export function checkEnvbuilderProbes(type: string, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const c of containersOf(podSpecOf(type, props))) {
    if (typeof c.image !== "string" || !c.image.includes("envbuilder")) continue;
    for (const probe of ["livenessProbe", "readinessProbe"] as const) {
      if (c[probe]?.httpGet !== undefined) problems.push(`Envbuilder container "${c.name}" has an HTTP ${probe}`);
    }
  }
  return problems;
}

export const envbuilderNoHttpProbes: ResourceValidationPolicy = {
  name: "envbuilder-no-http-probes",
  description: "Envbuilder containers have no HTTP liveness or readiness probes.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkEnvbuilderProbes(args.type, args.props),
      args,
      "remove the httpGet probe (use an exec probe, or none, while the devcontainer builds)",
      reportViolation,
    ),
};
