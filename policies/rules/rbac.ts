import type { ResourceValidationPolicy } from "@pulumi/policy";
import { isRepoStack, reportAll, stackOfUrn } from "./common";

const ROLE_TYPES = ["kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"];
const CLUSTER_TYPES = [
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
];

interface Rule {
  verbs?: unknown[];
  resources?: unknown[];
  apiGroups?: unknown[];
}

/** A Role or ClusterRole grants no `*` verb, resource or API group. */
export function checkRbacWildcards(type: string, props: Record<string, unknown>): string[] {
  if (!ROLE_TYPES.includes(type)) return [];
  const rules = ((props as { rules?: Rule[] }).rules ?? []) as Rule[];
  return rules.flatMap((rule, i) =>
    (["verbs", "resources", "apiGroups"] as const)
      .filter((field) => (rule[field] ?? []).includes("*"))
      .map((field) => `rules[${i}].${field} contains "*"`),
  );
}

/** A repo stack (`<owner>.<repo>`) declares no cluster-wide RBAC. */
export function checkClusterRbac(type: string, stack: string): string[] {
  return CLUSTER_TYPES.includes(type) && isRepoStack(stack)
    ? [`the repo stack "${stack}" declares a ${type.split(":").pop()}`]
    : [];
}

export const rbacNoWildcards: ResourceValidationPolicy = {
  name: "rbac-no-wildcards",
  description: "Roles and ClusterRoles name their verbs, resources and API groups; no \"*\".",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkRbacWildcards(args.type, args.props),
      args,
      "list the exact verbs, resources and apiGroups the subject needs",
      reportViolation,
    ),
};

export const noClusterRbacInRepoStacks: ResourceValidationPolicy = {
  name: "no-cluster-rbac-in-repo-stacks",
  description: "Repo stacks declare only namespaced RBAC (Role, RoleBinding).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkClusterRbac(args.type, stackOfUrn(args.urn)),
      args,
      "use a Role and RoleBinding in the repo's namespace",
      reportViolation,
    ),
};
