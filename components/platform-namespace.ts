import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../domain/resource-types";

export interface PlatformNamespaceArgs {
  /** The namespace's exact name (no auto-naming suffix: repo stacks and the server address it by name). */
  readonly name: string;
  /** "dev" or "prod", recorded as a label so dashboards and policies (image-pinned-in-prod) can tell the two apart. */
  readonly environment: string;
  /** Extra labels; mesh-six's own labels win over them. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The namespace mesh-six and every onboarded repo's objects live in: one Namespace, labelled part-of mesh-six and
 * with its environment. Adopts nothing: a namespace of that name already there makes the create fail. Outputs its name.
 */
export class PlatformNamespace extends pulumi.ComponentResource {
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: PlatformNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.platformNamespace, name, {}, opts);

    const namespace = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: args.name,
          labels: {
            ...args.labels,
            "app.kubernetes.io/part-of": "mesh-six",
            "app.kubernetes.io/managed-by": "pulumi",
            "mesh-six.dev/environment": args.environment,
          },
        },
      },
      { parent: this },
    );

    this.name = namespace.metadata.name;
    this.registerOutputs({ name: this.name });
  }
}
