import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceEntry } from "../domain/catalog";
import { COMPONENT_TYPES } from "../domain/resource-types";

export interface MeshServiceArgs {
  /** The namespace of the Deployment and Service. */
  readonly namespace: pulumi.Input<string>;
  /** The catalog entry; its name becomes the objects' name and the Dapr app id. */
  readonly service: ServiceEntry;
  /** Full image reference (already resolved from the registry and the stack's pinned tag). */
  readonly image: pulumi.Input<string>;
  /** Secret whose keys become the container's environment. @default none */
  readonly envFromSecret?: pulumi.Input<string>;
  /** dockerconfigjson Secret for pulling `image` from a private registry. @default none */
  readonly pullSecretName?: pulumi.Input<string>;
}

/**
 * One mesh-six service from the catalog: a Deployment (Dapr-annotated when the catalog says so, with requests and
 * limits, and /healthz probes when it has a port), plus a ClusterIP Service when the catalog gives it a port. Both
 * carry the catalog name, never a generated one. Adopts nothing: objects of that name already in the namespace make
 * the create fail. Outputs the objects' names and the image; the environment comes from a Secret by reference only.
 */
export class MeshService extends pulumi.ComponentResource {
  public readonly deploymentName: pulumi.Output<string>;
  /** The Service's name, or undefined for a service without a port. */
  public readonly serviceName: pulumi.Output<string | undefined>;
  public readonly image: pulumi.Output<string>;

  constructor(name: string, args: MeshServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.meshService, name, {}, opts);

    const svc = args.service;
    const labels = {
      "app.kubernetes.io/name": svc.name,
      "app.kubernetes.io/part-of": "mesh-six",
      "app.kubernetes.io/managed-by": "pulumi",
    };
    // Fixed names: other services reach this one by its Service name or its Dapr app id, which must not drift.
    const metadata = { name: svc.name, namespace: args.namespace, labels };

    // Dapr reads these from the pod template, not the Deployment; app-port only where there is something to call.
    const daprAnnotations: Record<string, string> = svc.dapr
      ? {
          "dapr.io/enabled": "true",
          "dapr.io/app-id": svc.name,
          ...(svc.port !== undefined ? { "dapr.io/app-port": String(svc.port) } : {}),
        }
      : {};

    const probe = (initialDelaySeconds: number, periodSeconds: number) =>
      svc.port !== undefined ? { httpGet: { path: "/healthz", port: "http" }, initialDelaySeconds, periodSeconds } : undefined;

    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata,
        spec: {
          replicas: svc.replicas ?? 1,
          selector: { matchLabels: { "app.kubernetes.io/name": svc.name } },
          template: {
            metadata: { labels, annotations: daprAnnotations },
            spec: {
              imagePullSecrets: args.pullSecretName !== undefined ? [{ name: args.pullSecretName }] : undefined,
              containers: [
                {
                  name: svc.name,
                  image: args.image,
                  ports: svc.port !== undefined ? [{ name: "http", containerPort: svc.port }] : undefined,
                  env: svc.port !== undefined ? [{ name: "APP_PORT", value: String(svc.port) }] : undefined,
                  envFrom: args.envFromSecret !== undefined ? [{ secretRef: { name: args.envFromSecret } }] : undefined,
                  readinessProbe: probe(5, 10),
                  livenessProbe: probe(15, 20),
                  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                  // Capabilities stay at the runtime's defaults: the dashboard's nginx switches to its worker user.
                  securityContext: { allowPrivilegeEscalation: false },
                },
              ],
            },
          },
        },
      },
      { parent: this },
    );

    let serviceName: pulumi.Output<string | undefined> = pulumi.output(undefined);
    if (svc.port !== undefined) {
      const service = new k8s.core.v1.Service(
        name,
        {
          metadata,
          spec: {
            type: "ClusterIP",
            selector: { "app.kubernetes.io/name": svc.name },
            ports: [{ name: "http", port: 80, targetPort: "http" }],
          },
        },
        { parent: this },
      );
      serviceName = service.metadata.name;
    }

    this.deploymentName = deployment.metadata.name;
    this.serviceName = serviceName;
    this.image = pulumi.output(args.image);
    this.registerOutputs({ deploymentName: this.deploymentName, serviceName: this.serviceName, image: this.image });
  }
}
