import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, containersOfResource, kubeKind, located, readKnown, reportAll, stackOfUrn } from "./common";
import { imagePinProblem } from "./image-ref";

export { imagePinProblem };

/**
 * Every container image (init and ephemeral containers too, in every kind that carries a pod spec) is pinned: a
 * valid digest, or a tag that is neither empty nor `latest` (image-ref.ts reads the reference). Mandatory on prod
 * stacks, advisory on the others. A stack is prod when it declares a Namespace (or NamespacePatch) labelled
 * `mesh-six.dev/environment: prod` (the platform program sets that label from the stack config
 * `mesh-six:environment`), or when its name is listed in this policy's config `prodStacks` (`--policy-pack-config`),
 * for stacks without such a namespace.
 */
export function checkImagesPinned(type: string, props: Record<string, unknown>): string[] {
  return containersOfResource(type, props).flatMap(({ at, value: c }) => {
    const problem = typeof c.image === "string" ? imagePinProblem(c.image) : undefined;
    return problem === undefined ? [] : [located(at, `container ${problem}`)];
  });
}

export const ENVIRONMENT_LABEL = "mesh-six.dev/environment";

/** Whether the stack these resources belong to is a prod stack (see above). */
export function isProdStack(resources: Pick<PolicyResource, "type" | "props" | "urn">[], prodStacks: string[] = []): boolean {
  const declaresProd = resources.some((r) => {
    const kind = kubeKind(r.type);
    if (kind?.group !== "core" || kind.kind !== "Namespace" || kind.list) return false;
    const label = (r.props as { metadata?: { labels?: Record<string, unknown> } }).metadata?.labels?.[ENVIRONMENT_LABEL];
    // Read generously: a stack that spells prod differently still meant prod, and gets the stricter rule.
    return typeof label === "string" && label.trim().toLowerCase() === "prod";
  });
  return declaresProd || (resources.length > 0 && prodStacks.includes(stackOfUrn(resources[0].urn)));
}

const FIX =
  "pin a version tag (e.g. v0.9.3) or a sha256: digest; for platform stacks set `pulumi config set --path mesh-six:images.<service> <tag>`";

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
