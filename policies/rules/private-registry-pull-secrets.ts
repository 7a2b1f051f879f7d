import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, podSpecOf, reportAll } from "./common";

export const DEFAULT_PRIVATE_REGISTRY = "registry.bto.bar";

/** The registry host of an image reference (`docker.io` for a bare name such as nginx:1.27). */
export function imageHost(image: string): string {
  const first = image.split("/")[0];
  return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
}

const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"];

/** A Deployment or StatefulSet pulling from `registry` must name imagePullSecrets. */
export function checkPullSecrets(type: string, props: Record<string, unknown>, registry = DEFAULT_PRIVATE_REGISTRY): string[] {
  if (!WORKLOADS.includes(type)) return [];
  const spec = podSpecOf(type, props);
  const privateImages = containersOf(spec)
    .map((c) => c.image)
    .filter((i): i is string => typeof i === "string" && imageHost(i) === registry);
  if (privateImages.length === 0 || (spec?.imagePullSecrets ?? []).some((s) => s?.name)) return [];
  return [`pulls ${privateImages.join(", ")} from the private registry ${registry} without imagePullSecrets`];
}

export const privateRegistryPullSecrets: ResourceValidationPolicy = {
  name: "private-registry-pull-secrets",
  description: "Deployments and StatefulSets pulling from the private registry carry imagePullSecrets.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { registry: { type: "string", default: DEFAULT_PRIVATE_REGISTRY } } },
  validateResource: (args, reportViolation) => {
    const { registry } = args.getConfig<{ registry?: string }>();
    reportAll(
      checkPullSecrets(args.type, args.props, registry ?? DEFAULT_PRIVATE_REGISTRY),
      args,
      "add spec.template.spec.imagePullSecrets: [{ name: <the registry's dockerconfigjson Secret> }]",
      reportViolation,
    );
  },
};
