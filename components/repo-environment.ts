import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../domain/resource-types";
import { PLATFORM_SECRET_NAME } from "../domain/names";

/** Server-side apply takes over fields another field manager (a hand edit) changed, instead of failing. */
export const PATCH_FORCE = { "pulumi.com/patchForce": "true" };

export interface RepoEnvironmentArgs {
  /** Kubernetes name of every object (a DNS-1123 label; see domain/names.ts) and the Dapr app id. */
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  /** Labels of every object; also the Service's and StatefulSet's selector. */
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations naming the repository, e.g. mesh-six.dev/repository: "acme/widgets". @default none */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Clone URL; Envbuilder checks out `gitRef` of it. */
  readonly gitUrl: string;
  /** The branch Envbuilder checks out. */
  readonly gitRef: string;
  readonly envbuilderImage: string;
  /** What Envbuilder runs once the devcontainer is built. */
  readonly initScript: string;
  /** The image Envbuilder falls back to when the devcontainer does not build. */
  readonly fallbackImage: string;
  /** Registry repository Envbuilder caches layers in. @default none (no cache) */
  readonly cacheRepo?: string;
  /** dockerconfigjson Secret for pulling the images. */
  readonly pullSecretName: string;
  readonly resources: { readonly requests: { cpu: string; memory: string }; readonly limits: { cpu: string; memory: string } };
  /** Size of the workspace volume claim, e.g. "10Gi". */
  readonly workspaceStorage: string;
  /** Size of the session volume claim. */
  readonly sessionStorage: string;
  /** @default the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** The repo's own Secret (synced from Vault), exposed to the environment as variables. @default none */
  readonly envSecretName?: pulumi.Input<string>;
  /** More Secrets exposed the same way (the repo's storage key). @default none */
  readonly extraEnvSecretNames?: pulumi.Input<string>[];
  /** The Secret (synced by the platform stack's ExternalSecret) holding git and database credentials. @default PLATFORM_SECRET_NAME */
  readonly platformSecretName?: string;
}

export const WORKSPACE_MOUNT = "/workspaces";
export const SESSION_MOUNT = "/var/lib/mesh-six/session";

/**
 * A repository's development environment: one Envbuilder pod (a StatefulSet of one, so its workspace and session
 * volumes outlive the pod) that builds the repo's devcontainer and keeps it running for agents, a headless Service
 * giving the pod a stable DNS name, and the ServiceAccount it runs as. Adopts: objects of the same name are taken
 * over by server-side apply (`pulumi.com/patchForce`), so a hand edit is undone rather than failing the update.
 * Outputs the objects' and the pod's names; credentials reach the pod by Secret reference, never as values.
 */
export class RepoEnvironment extends pulumi.ComponentResource {
  public readonly statefulSetName: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly serviceAccountName: pulumi.Output<string>;
  /** The one pod's name (`<statefulset>-0`). */
  public readonly podName: pulumi.Output<string>;

  constructor(name: string, args: RepoEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.repoEnvironment, name, {}, opts);
    const secretName = args.platformSecretName ?? PLATFORM_SECRET_NAME;
    // The stack owns these objects: an update takes back fields edited by hand rather than failing on the conflict.
    const metadata = {
      name: args.name,
      namespace: args.namespace,
      labels: args.labels,
      annotations: { ...args.annotations, ...PATCH_FORCE },
    };

    const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata }, { parent: this });

    const service = new k8s.core.v1.Service(
      name,
      {
        metadata,
        spec: {
          clusterIP: "None",
          selector: args.labels,
          // A headless Service needs a port to publish DNS records; Envbuilder serves nothing, the mesh does.
          ports: [{ name: "placeholder", port: 80, targetPort: 80 }],
          publishNotReadyAddresses: true,
        },
      },
      { parent: this },
    );

    const env: k8s.types.input.core.v1.EnvVar[] = [
      { name: "ENVBUILDER_GIT_URL", value: `${args.gitUrl}#refs/heads/${args.gitRef}` },
      { name: "ENVBUILDER_INIT_SCRIPT", value: args.initScript },
      { name: "ENVBUILDER_FALLBACK_IMAGE", value: args.fallbackImage },
      { name: "ENVBUILDER_WORKSPACE_BASE_DIR", value: WORKSPACE_MOUNT },
      ...(args.cacheRepo ? [{ name: "ENVBUILDER_CACHE_REPO", value: args.cacheRepo }] : []),
      fromSecret("ENVBUILDER_GIT_USERNAME", secretName, "GIT_USERNAME"),
      fromSecret("ENVBUILDER_GIT_PASSWORD", secretName, "GIT_PASSWORD"),
      fromSecret("PG_USER", secretName, "PG_USER"),
      fromSecret("PG_PASSWORD", secretName, "PG_PASSWORD"),
    ];

    const statefulSet = new k8s.apps.v1.StatefulSet(
      name,
      {
        // The pod only becomes Ready once its devcontainer is built; the onboarding run watches for that itself
        // through the Kubernetes API (failing with the pod's last condition) instead of the provider's await.
        metadata: { ...metadata, annotations: { ...metadata.annotations, "pulumi.com/skipAwait": "true" } },
        spec: {
          serviceName: service.metadata.name,
          replicas: 1,
          selector: { matchLabels: args.labels },
          template: {
            metadata: {
              labels: args.labels,
              annotations: {
                ...args.annotations,
                // Agents reach the environment through the Dapr mesh, by app id.
                "dapr.io/enabled": "true",
                "dapr.io/app-id": args.name,
              },
            },
            spec: {
              serviceAccountName: serviceAccount.metadata.name,
              imagePullSecrets: [{ name: args.pullSecretName }],
              containers: [
                {
                  name: "envbuilder",
                  image: args.envbuilderImage,
                  env,
                  // optional: the pod may start before the ExternalSecret's first sync.
                  envFrom: [...(args.envSecretName ? [args.envSecretName] : []), ...(args.extraEnvSecretNames ?? [])].map((name) => ({
                    secretRef: { name, optional: true },
                  })),
                  resources: args.resources,
                  // No HTTP probes: Envbuilder builds and runs the devcontainer; it serves no HTTP.
                  volumeMounts: [
                    { name: "workspace", mountPath: WORKSPACE_MOUNT },
                    { name: "session", mountPath: SESSION_MOUNT },
                  ],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            claim("workspace", args.workspaceStorage, args.labels, args.storageClassName),
            claim("session", args.sessionStorage, args.labels, args.storageClassName),
          ],
        },
      },
      { parent: this, dependsOn: [service] },
    );

    this.statefulSetName = statefulSet.metadata.name;
    this.serviceName = service.metadata.name;
    this.serviceAccountName = serviceAccount.metadata.name;
    this.podName = statefulSet.metadata.name.apply((n) => `${n}-0`);
    this.registerOutputs({
      statefulSetName: this.statefulSetName,
      serviceName: this.serviceName,
      serviceAccountName: this.serviceAccountName,
      podName: this.podName,
    });
  }
}

function fromSecret(name: string, secretName: string, key: string): k8s.types.input.core.v1.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

function claim(
  name: string,
  storage: string,
  labels: Record<string, string>,
  storageClassName?: string,
): k8s.types.input.core.v1.PersistentVolumeClaim {
  return {
    metadata: { name, labels },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } }, storageClassName },
  };
}
