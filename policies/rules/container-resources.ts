import type { ResourceValidationPolicy } from "@pulumi/policy";
import { located, podSpecsOf, reportAll } from "./common";

/**
 * Every container and init container sets requests and limits for both cpu and memory, in every kind that carries
 * a pod spec. Ephemeral containers are left out: Kubernetes refuses resources on them.
 */
export function checkResources(type: string, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const { at, value: spec } of podSpecsOf(type, props)) {
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const missing = (["requests", "limits"] as const).flatMap((kind) =>
        (["cpu", "memory"] as const).filter((r) => c?.resources?.[kind]?.[r] === undefined).map((r) => `${kind}.${r}`),
      );
      if (missing.length > 0) problems.push(located(at, `container "${c?.name}" has no resources ${missing.join(", ")}`));
    }
  }
  return problems;
}

export const containerResources: ResourceValidationPolicy = {
  name: "container-resources",
  description: "Every container (and init container) of every workload kind has cpu and memory requests and limits.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkResources(args.type, args.props),
      args,
      "set resources.requests and resources.limits, each with cpu and memory",
      reportViolation,
    ),
};
