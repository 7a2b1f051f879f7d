import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, located, podSpecsOf, reportAll } from "./common";
import { normaliseRegistryHost, parseImage } from "./image-ref";

export const DEFAULT_PRIVATE_REGISTRY = "registry.bto.bar";

/** The registry host of an image reference, as image-ref.ts normalises it (`docker.io` for a bare name). */
export function imageHost(image: string): string {
  return parseImage(image).host;
}

/**
 * A pod spec, of any workload kind, whose containers (init and ephemeral too) pull from `registry` names
 * imagePullSecrets. Registries compare as hosts (image-ref.ts): case, the default port and Docker Hub's aliases do
 * not make another registry, a longer host (`registry.bto.bar.example`) or another port does. A Patch carrying a
 * private image restates imagePullSecrets (the policy cannot see the live object).
 */
export function checkPullSecrets(type: string, props: Record<string, unknown>, registry = DEFAULT_PRIVATE_REGISTRY): string[] {
  const host = normaliseRegistryHost(registry);
  return podSpecsOf(type, props).flatMap(({ at, value: spec }) => {
    const privateImages = containersOf(spec)
      .map((c) => c.image)
      .filter((i): i is string => typeof i === "string" && imageHost(i) === host);
    if (privateImages.length === 0 || (spec.imagePullSecrets ?? []).some((s) => s?.name)) return [];
    return [located(at, `pulls ${privateImages.join(", ")} from the private registry ${registry} without imagePullSecrets`)];
  });
}

export const privateRegistryPullSecrets: ResourceValidationPolicy = {
  name: "private-registry-pull-secrets",
  description: "Every workload kind pulling from the private registry (compared as a host) carries imagePullSecrets.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { registry: { type: "string", default: DEFAULT_PRIVATE_REGISTRY } } },
  validateResource: (args, reportViolation) => {
    const { registry } = args.getConfig<{ registry?: string }>();
    reportAll(
      checkPullSecrets(args.type, args.props, registry ?? DEFAULT_PRIVATE_REGISTRY),
      args,
      "add imagePullSecrets: [{ name: <the registry's dockerconfigjson Secret> }] to the pod spec",
      reportViolation,
    );
  },
};
