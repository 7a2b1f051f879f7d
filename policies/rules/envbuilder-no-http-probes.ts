import type { ResourceValidationPolicy } from "@pulumi/policy";
import { type Container, containersOfResource, located, reportAll } from "./common";
import { parseImage } from "./image-ref";

// Coder publishes ghcr.io/coder/envbuilder and, for previews, envbuilder-preview; mirrors keep the last component.
const ENVBUILDER_REPOSITORIES = new Set(["envbuilder", "envbuilder-preview"]);

/**
 * Whether a container runs Envbuilder: its image's repository ends in `envbuilder` (any registry, port, tag or
 * digest: the reference is parsed, not searched), or it is configured by ENVBUILDER_* variables, which is how
 * Envbuilder is driven whatever a mirror renamed its image to. A name that merely contains "envbuilder"
 * (acme/envbuilder-docs) is another image.
 */
export function isEnvbuilder(c: Container): boolean {
  if (typeof c.image === "string" && ENVBUILDER_REPOSITORIES.has(parseImage(c.image).repository.split("/").pop() ?? "")) return true;
  return (c.env ?? []).some((e) => typeof e?.name === "string" && e.name.startsWith("ENVBUILDER_"));
}

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

/**
 * Envbuilder spends minutes building the devcontainer before anything listens: an HTTP liveness or startup probe
 * kills the pod in the middle of the build, a readiness probe un-readies it, and an HTTP postStart hook that fails
 * kills the container. Checked in every container list (init and ephemeral too) of every workload kind.
 */
export function checkEnvbuilderProbes(type: string, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const { at, value: c } of containersOfResource(type, props)) {
    if (!isEnvbuilder(c)) continue;
    for (const probe of PROBES) {
      if (c[probe]?.httpGet != null) problems.push(located(at, `Envbuilder container "${c.name}" has an HTTP ${probe}`));
    }
    if (c.lifecycle?.postStart?.httpGet != null) problems.push(located(at, `Envbuilder container "${c.name}" has an HTTP postStart hook`));
  }
  return problems;
}

export const envbuilderNoHttpProbes: ResourceValidationPolicy = {
  name: "envbuilder-no-http-probes",
  description:
    "Envbuilder containers (by image repository or ENVBUILDER_* env) have no HTTP liveness, readiness or startup probe, nor HTTP postStart hook.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkEnvbuilderProbes(args.type, args.props),
      args,
      "remove the httpGet probe (use an exec probe, or none, while the devcontainer builds)",
      reportViolation,
    ),
};
