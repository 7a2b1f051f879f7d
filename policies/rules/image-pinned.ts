import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, containersOf, podSpecOf, readKnown, reportAll, stackOfUrn } from "./common";

/**
 * Every container image is pinned: a tag other than `latest`, or a digest. Mandatory on prod stacks, advisory on
 * the others. A stack is prod when it declares a Namespace labelled `mesh-six.dev/environment: prod` (the
 * platform program sets that label from the stack config `mesh-six:environment`), or when its name is listed in
 * this policy's config `prodStacks` (`--policy-pack-config`), for stacks without such a namespace.
 */
export function imagePinProblem(image: string): string | undefined {
  const at = image.indexOf("@");
  if (at >= 0) {
    return /^sha256:[a-f0-9]{64}$/.test(image.slice(at + 1)) ? undefined : `image "${image}" has a malformed digest`;
  }
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  if (colon < 0) return `image "${image}" has no tag, which means latest`;
  if (image.slice(colon + 1).toLowerCase() === "latest") return `image "${image}" runs the moving tag latest`;
  return undefined;
}

/** The pinning problems of one resource's containers. */
export function checkImagesPinned(type: string, props: Record<string, unknown>): string[] {
  return containersOf(podSpecOf(type, props))
    .map((c) => (typeof c.image === "string" ? imagePinProblem(c.image) : undefined))
    .filter((p): p is string => p !== undefined)
    .map((p) => `container ${p}`);
}

export const ENVIRONMENT_LABEL = "mesh-six.dev/environment";

/** Whether the stack these resources belong to is a prod stack (see above). */
export function isProdStack(resources: Pick<PolicyResource, "type" | "props" | "urn">[], prodStacks: string[] = []): boolean {
  const declaresProd = resources.some(
    (r) =>
      r.type === "kubernetes:core/v1:Namespace" &&
      (r.props as { metadata?: { labels?: Record<string, unknown> } }).metadata?.labels?.[ENVIRONMENT_LABEL] === "prod",
  );
  return declaresProd || (resources.length > 0 && prodStacks.includes(stackOfUrn(resources[0].urn)));
}

const FIX = "pin a version tag (e.g. v0.9.3) or a sha256: digest; for platform stacks set `pulumi config set --path mesh-six:images.<service> <tag>`";

const configSchema = {
  properties: { prodStacks: { type: "array" as const, items: { type: "string" as const }, default: [] as string[] } },
};

function validateFor(prod: boolean) {
  return (args: StackValidationArgs, reportViolation: (message: string, urn?: string) => void) => {
    const { prodStacks } = args.getConfig<{ prodStacks?: string[] }>();
    if (isProdStack(args.resources, prodStacks ?? []) !== prod) return;
    for (const r of args.resources) {
      // One resource with an image unknown during preview must not hide the others' problems.
      const problems = readKnown(() => checkImagesPinned(r.type, r.props));
      if (problems !== UNKNOWN) reportAll(problems, r, FIX, reportViolation);
    }
  };
}

export const imagePinnedInProd: StackValidationPolicy = {
  name: "image-pinned-in-prod",
  description: "On a prod stack every container image is pinned to a version tag or a digest.",
  enforcementLevel: "mandatory",
  configSchema,
  validateStack: validateFor(true),
};

export const imagePinned: StackValidationPolicy = {
  name: "image-pinned",
  description: "Outside prod, unpinned container images (latest, no tag) are reported as advisory.",
  enforcementLevel: "advisory",
  configSchema,
  validateStack: validateFor(false),
};
