import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../domain/resource-types";
import { PATCH_FORCE } from "./repo-environment";

export interface PodReaderRbacArgs {
  /** Base name; the objects are `<name>-pod-reader`. */
  readonly name: string;
  /** The repo's namespace, the only one the Role reads in. */
  readonly namespace: pulumi.Input<string>;
  /** Labels of the three objects (the repo environment's). */
  readonly labels: Readonly<Record<string, string>>;
}

export const POD_READER_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get", "list"] },
];

/**
 * Lets the onboarding server watch a repo environment come up: a ServiceAccount bound (RoleBinding) to a Role that
 * can read pods and StatefulSets in the repo's namespace and nothing else (no writes, no secrets, nothing
 * cluster-wide). Adopts: objects of the same name are taken over by server-side apply (`pulumi.com/patchForce`).
 * Outputs the ServiceAccount's and Role's names, never a token.
 */
export class PodReaderRbac extends pulumi.ComponentResource {
  public readonly serviceAccountName: pulumi.Output<string>;
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: PodReaderRbacArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.podReaderRbac, name, {}, opts);
    const metadata = { name: `${args.name}-pod-reader`, namespace: args.namespace, labels: args.labels, annotations: PATCH_FORCE };
    const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata }, { parent: this });
    const role = new k8s.rbac.v1.Role(name, { metadata, rules: POD_READER_RULES }, { parent: this });
    new k8s.rbac.v1.RoleBinding(
      name,
      {
        metadata,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: args.namespace }],
      },
      { parent: this },
    );
    this.serviceAccountName = serviceAccount.metadata.name;
    this.roleName = role.metadata.name;
    this.registerOutputs({ serviceAccountName: this.serviceAccountName, roleName: this.roleName });
  }
}
