import type { ResourceValidationPolicy } from "@pulumi/policy";
import { type RbacObject, type RbacRule, isRepoStack, located, rbacObjectsOf, reportAll, stackOfUrn } from "./common";

/**
 * Wildcards as the API server's RBAC authorizer matches them (rbac/v1 PolicyRule):
 *   - verbs, apiGroups or resources `*` match everything;
 *   - resources `*\/<sub>` match that subresource of every resource (`*\/status`, `*\/exec`);
 *   - resources `<resource>/*` match no subresource at all (the authorizer has no such glob), so it is refused as
 *     a grant whose author meant a wildcard: name the subresources;
 *   - nonResourceURLs ending in `*` match every URL with that prefix (`*`, `/api/*`, `/healthz*`).
 * Binding the ClusterRole cluster-admin grants `*` on everything, so a binding of any kind to it is a wildcard too.
 */
function ruleWildcards(rule: RbacRule): [string, string[]][] {
  const strings = (values: unknown[] | undefined) => (values ?? []).filter((v): v is string => typeof v === "string");
  const fields: [string, string[]][] = [
    ["verbs", strings(rule.verbs).filter((v) => v === "*")],
    ["resources", strings(rule.resources).filter((r) => r === "*" || r.startsWith("*/") || r.endsWith("/*"))],
    ["apiGroups", strings(rule.apiGroups).filter((g) => g === "*")],
    ["nonResourceURLs", strings(rule.nonResourceURLs).filter((u) => u.endsWith("*"))],
  ];
  return fields.filter(([, found]) => found.length > 0);
}

export const CLUSTER_ADMIN = "cluster-admin";
/** The built-in ClusterRoles that give a subject write access to a namespace's workloads, Secrets or RBAC. */
export const BUILTIN_POWER_ROLES = [CLUSTER_ADMIN, "admin", "edit"];

function clusterRoleRef(o: RbacObject): string | undefined {
  const ref = o.roleRef;
  return (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") && ref?.kind === "ClusterRole" && typeof ref.name === "string"
    ? ref.name
    : undefined;
}

/** A Role or ClusterRole (any version, Patch or List) grants no wildcard, and no binding of any kind grants cluster-admin. */
export function checkRbacWildcards(type: string, props: Record<string, unknown>): string[] {
  return rbacObjectsOf(type, props).flatMap(({ at, value: o }) => {
    if (clusterRoleRef(o) === CLUSTER_ADMIN) return [located(at, `binds the ClusterRole cluster-admin, which grants "*" on everything`)];
    const rules = Array.isArray(o.rules) ? o.rules : [];
    return rules.flatMap((rule, i) =>
      ruleWildcards(rule ?? {}).map(([field, found]) =>
        located(at, `rules[${i}].${field} contains ${found.map((f) => JSON.stringify(f)).join(", ")}`),
      ),
    );
  });
}

/**
 * A repo stack (`<owner>.<repo>`) declares no cluster-wide RBAC (ClusterRole, ClusterRoleBinding, any version,
 * Patch or List), and binds no subject to a built-in power role (cluster-admin, admin, edit) by any binding kind: a
 * RoleBinding to the ClusterRole admin hands out the namespace, its Secrets and its RBAC.
 */
export function checkClusterRbac(type: string, props: Record<string, unknown>, stack: string): string[] {
  if (!isRepoStack(stack)) return [];
  return rbacObjectsOf(type, props).flatMap(({ at, value: o }) => {
    const problems: string[] = [];
    if (o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")
      problems.push(located(at, `the repo stack "${stack}" declares a ${type.split(":").pop()}`));
    const role = clusterRoleRef(o);
    if (role !== undefined && BUILTIN_POWER_ROLES.includes(role)) {
      problems.push(located(at, `the repo stack "${stack}" binds the built-in ClusterRole ${role}`));
    }
    return problems;
  });
}

export const rbacNoWildcards: ResourceValidationPolicy = {
  name: "rbac-no-wildcards",
  description:
    "Roles and ClusterRoles name their verbs, resources, subresources, API groups and URLs (no wildcard as Kubernetes matches them); no binding to cluster-admin.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkRbacWildcards(args.type, args.props),
      args,
      "list the exact verbs, resources, subresources, apiGroups and nonResourceURLs the subject needs, in a Role of its own",
      reportViolation,
    ),
};

export const noClusterRbacInRepoStacks: ResourceValidationPolicy = {
  name: "no-cluster-rbac-in-repo-stacks",
  description: "Repo stacks declare only namespaced RBAC (Role, RoleBinding) and bind no subject to cluster-admin, admin or edit.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) =>
    reportAll(
      checkClusterRbac(args.type, args.props, stackOfUrn(args.urn)),
      args,
      "use a Role listing what the subject needs and a RoleBinding to it, in the repo's namespace",
      reportViolation,
    ),
};
