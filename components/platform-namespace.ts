import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The namespace mesh-six and every onboarded repo's objects live in. */
export interface PlatformNamespaceArgs {
  /** The namespace's exact name (no auto-naming suffix: repo stacks and the server address it by name). */
  name: string;
  /** "dev" or "prod", recorded as a label so dashboards and policies can tell the two apart. */
  environment: string;
  /** Extra labels. Default: none. */
  labels?: Record<string, string>;
}

export class PlatformNamespace extends pulumi.ComponentResource {
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: PlatformNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh-six:platform:Namespace", name, {}, opts);

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
