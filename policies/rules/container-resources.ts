import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, podSpecOf, reportAll } from "./common";

/** Every container sets requests and limits for both cpu and memory. */
export function checkResources(type: string, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const c of containersOf(podSpecOf(type, props))) {
    const missing = (["requests", "limits"] as const).flatMap((kind) =>
      (["cpu", "memory"] as const).filter((r) => c.resources?.[kind]?.[r] === undefined).map((r) => `${kind}.${r}`),
    );
    if (missing.length > 0) problems.push(`container "${c.name}" has no resources ${missing.join(", ")}`);
  }
  return problems;
}

export const containerResources: ResourceValidationPolicy = {
  name: "container-resources",
  description: "Every container has cpu and memory requests and limits.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkResources(args.type, args.props),
      args,
      "set resources.requests and resources.limits, each with cpu and memory",
      reportViolation,
    ),
};
