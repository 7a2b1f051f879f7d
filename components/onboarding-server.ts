import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The onboarding server (this project's Express app) running inside the cluster it onboards repos into. */
export interface OnboardingServerArgs {
  /** Namespace of the server and of every object the repo stacks it runs declare. */
  namespace: pulumi.Input<string>;
  /** Full image reference, pinned by the platform config. */
  image: pulumi.Input<string>;
  /** Secret whose keys become the server's environment (mesh-six-secrets). */
  secretName: pulumi.Input<string>;
  /** Name of the Deployment, Service, ServiceAccount, Role and RoleBinding. Default: "onboarding-server". */
  name?: string;
  /** Replicas. Default: 1 (runs are leased in Postgres, so more are safe but rarely needed). */
  replicas?: number;
  /** dockerconfigjson Secret for pulling `image` from a private registry. Default: none. */
  pullSecretName?: pulumi.Input<string>;
  /** Extra environment variables. Default: none. */
  env?: Record<string, pulumi.Input<string>>;
}

export const ONBOARDING_SERVER_DEFAULT_NAME = "onboarding-server";
export const ONBOARDING_SERVER_PORT = 8080;
/** The image's user and the directories it writes to (Dockerfile: USER, the dev.mesh-six.writable-dirs label). */
export const SERVER_UID = 10001;
export const SERVER_WRITABLE_DIRS = ["/home/mesh-six", "/tmp"];
const volumeName = (dir: string) => `writable${dir.replace(/[^a-z0-9]+/g, "-")}`;

const MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"];
const READ = ["get", "list", "watch"];

/**
 * Everything the server may do, and only inside its own namespace: it runs repo stacks through the Automation
 * API with its own service-account token, so this list is exactly what those stacks declare plus what Pulumi's
 * await logic and the pod-health check read. Kubernetes refuses to create a Role that grants more than its
 * creator holds (the server has neither `escalate` nor `bind`), so a repo's Role can never exceed this one.
 */
export const ONBOARDING_SERVER_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  // The repo's dev-environment pod is a StatefulSet (stable name and volume per repo).
  { apiGroups: ["apps"], resources: ["statefulsets"], verbs: MANAGE },
  // The Service in front of the env pod.
  { apiGroups: [""], resources: ["services"], verbs: MANAGE },
  // Each env pod runs as its own ServiceAccount, so one repo's token never reaches another repo's objects.
  { apiGroups: [""], resources: ["serviceaccounts"], verbs: MANAGE },
  // The per-repo Role and RoleBinding for that ServiceAccount.
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: MANAGE },
  // The per-repo secrets synced from Vault (the values stay in Vault; we only declare what to copy).
  { apiGroups: ["external-secrets.io"], resources: ["externalsecrets"], verbs: MANAGE },
  // The pod-health step watches the env pod and Pulumi's StatefulSet await logic reads its pods; never writes.
  { apiGroups: [""], resources: ["pods"], verbs: READ },
  // Pulumi's await logic reports rollout events and waits for a Service's endpoints before calling it ready.
  { apiGroups: [""], resources: ["events", "endpoints"], verbs: READ },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
];

export class OnboardingServer extends pulumi.ComponentResource {
  public readonly deploymentName: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly serviceAccountName: pulumi.Output<string>;
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: OnboardingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh-six:platform:OnboardingServer", name, {}, opts);

    const objectName = args.name ?? ONBOARDING_SERVER_DEFAULT_NAME;
    const labels = {
      "app.kubernetes.io/name": objectName,
      "app.kubernetes.io/component": "control-plane",
      "app.kubernetes.io/part-of": "mesh-six",
      "app.kubernetes.io/managed-by": "pulumi",
    };
    // Fixed names (no auto-naming suffix): webhooks and the dashboard reach the server by its Service name.
    const metadata = { name: objectName, namespace: args.namespace, labels };

    const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata }, { parent: this });

    // A namespaced Role, not a ClusterRole: a compromised server can reach nothing outside mesh-six's namespace.
    const role = new k8s.rbac.v1.Role(name, { metadata, rules: ONBOARDING_SERVER_RULES }, { parent: this });

    new k8s.rbac.v1.RoleBinding(
      name,
      {
        metadata,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: args.namespace }],
      },
      { parent: this },
    );

    const extraEnv = Object.entries(args.env ?? {}).map(([envName, value]) => ({ name: envName, value }));

    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata,
        spec: {
          replicas: args.replicas ?? 1,
          selector: { matchLabels: { "app.kubernetes.io/name": objectName } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: serviceAccount.metadata.name,
              // The server runs Pulumi against this cluster with the pod's own token.
              automountServiceAccountToken: true,
              // On SIGTERM the server aborts its in-flight run gracefully; give that time rather than leaving a
              // lease to lapse and a stack to be recovered.
              terminationGracePeriodSeconds: 120,
              imagePullSecrets: args.pullSecretName !== undefined ? [{ name: args.pullSecretName }] : undefined,
              // The image's user (Dockerfile USER): runAsNonRoot can only verify a numeric one.
              securityContext: { runAsNonRoot: true, runAsUser: SERVER_UID, runAsGroup: SERVER_UID, fsGroup: SERVER_UID },
              // The root file system is read-only: the server writes only to the image's writable dirs (its
              // dev.mesh-six.writable-dirs label), each an emptyDir here.
              volumes: SERVER_WRITABLE_DIRS.map((dir) => ({ name: volumeName(dir), emptyDir: {} })),
              containers: [
                {
                  name: "server",
                  image: args.image,
                  ports: [{ name: "http", containerPort: ONBOARDING_SERVER_PORT }],
                  env: [
                    { name: "PORT", value: String(ONBOARDING_SERVER_PORT) },
                    // Repo stacks are created in the server's own namespace, the only one its Role covers.
                    { name: "MESH_SIX_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    ...extraEnv,
                  ],
                  envFrom: [{ secretRef: { name: args.secretName } }],
                  readinessProbe: {
                    httpGet: { path: "/readyz", port: "http" },
                    initialDelaySeconds: 5,
                    periodSeconds: 10,
                  },
                  livenessProbe: {
                    httpGet: { path: "/healthz", port: "http" },
                    initialDelaySeconds: 15,
                    periodSeconds: 20,
                  },
                  // Pulumi runs (CLI + language host + kubernetes plugin) are what use the memory, not Express.
                  resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "2", memory: "2Gi" } },
                  volumeMounts: SERVER_WRITABLE_DIRS.map((dir) => ({ name: volumeName(dir), mountPath: dir })),
                  securityContext: {
                    readOnlyRootFilesystem: true,
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                  },
                },
              ],
            },
          },
        },
      },
      { parent: this },
    );

    const service = new k8s.core.v1.Service(
      name,
      {
        metadata,
        spec: {
          type: "ClusterIP",
          selector: { "app.kubernetes.io/name": objectName },
          ports: [{ name: "http", port: 80, targetPort: "http" }],
        },
      },
      { parent: this },
    );

    this.deploymentName = deployment.metadata.name;
    this.serviceName = service.metadata.name;
    this.serviceAccountName = serviceAccount.metadata.name;
    this.roleName = role.metadata.name;
    this.registerOutputs({
      deploymentName: this.deploymentName,
      serviceName: this.serviceName,
      serviceAccountName: this.serviceAccountName,
      roleName: this.roleName,
    });
  }
}
