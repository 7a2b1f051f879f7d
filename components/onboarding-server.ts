import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { COMPONENT_TYPES } from "../domain/resource-types";

export interface OnboardingServerArgs {
  /** Namespace of the server and of every object the repo stacks it runs declare. */
  readonly namespace: pulumi.Input<string>;
  /** Full image reference, pinned by the platform config. */
  readonly image: pulumi.Input<string>;
  /** The platform Secret (mesh-six-secrets): `PG_USER`, `PG_PASSWORD`, `GITHUB_TOKEN` and `VAULT_TOKEN` are taken from it by key. */
  readonly platformSecretName: pulumi.Input<string>;
  /** The server's own Secret: `MESH_SIX_API_TOKENS`. */
  readonly serverSecretName: pulumi.Input<string>;
  /** Endpoints, sizing and shutdown grace (`mesh-six:server.*`, validated by stacks/platform-config.ts). */
  readonly settings: OnboardingServerSettings;
  /** Name of the Deployment, Service, ServiceAccount, Role, RoleBinding and PodDisruptionBudget. @default "onboarding-server" */
  readonly name?: string;
  /** dockerconfigjson Secret for pulling `image` from a private registry. @default none */
  readonly pullSecretName?: pulumi.Input<string>;
  /** Extra environment variables. @default none */
  readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Every field is required here; stacks/platform-config.ts holds their defaults (`mesh-six:server.*`). */
export interface OnboardingServerSettings {
  /** The URL GitHub and users reach the server at (webhook URLs are built from it). */
  readonly publicUrl: string;
  /** PostgreSQL without credentials: node-postgres and the CLI's driver both take PGUSER and PGPASSWORD from the environment. */
  readonly databaseUrl: string;
  readonly vaultAddr: string;
  readonly githubApiUrl: string;
  /** Pulumi's secrets provider URL for the stacks the server runs (names a key, holds none). */
  readonly secretsProvider: string;
  readonly replicas: number;
  /** How many runs one replica executes at once. */
  readonly runConcurrency: number;
  /** The container's memory limit, e.g. "1Gi". */
  readonly memoryLimit: string;
  /** How long runs get after SIGTERM before they go back to the queue. */
  readonly shutdownGraceSeconds: number;
}

/** After SIGTERM the server reports not-ready this long before it stops listening, so endpoints drop it first. */
export const SERVER_DRAIN_DELAY_MS = 5000;
// Beyond the runs' grace: the drain delay, the CLI's own stop after SIGINT, and recording the outcome.
const TERMINATION_MARGIN_SECONDS = 45;

export const ONBOARDING_SERVER_DEFAULT_NAME = "onboarding-server";
export const ONBOARDING_SERVER_PORT = 8080;
/**
 * The image's user and the directories it writes to (Dockerfile: USER, the dev.mesh-six.writable-dirs label): HOME
 * with PULUMI_HOME, and TMPDIR with the per-process scratch workspace. Nothing in them outlives the pod, nor needs to.
 */
export const SERVER_UID = 10001;
export const SERVER_WRITABLE_DIRS: readonly string[] = Object.freeze(["/home/mesh-six", "/tmp"]);
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

/**
 * The onboarding server (this project's Express app) running inside the cluster it onboards repos into: a
 * Deployment of stateless replicas (everything they keep is in PostgreSQL: runs, deliveries, tasks, Pulumi's state
 * and each stack's settings), its Service, a ConfigMap of settings, a PodDisruptionBudget, and the namespaced RBAC its
 * runs use (ServiceAccount, Role, RoleBinding). Every variable the server reads at start is declared here. Adopts
 * nothing: objects of these names already in the namespace make the create fail. Never outputs a credential:
 * credentials come from Secrets that External Secrets syncs from Vault, by reference; the outputs are object names.
 */
export class OnboardingServer extends pulumi.ComponentResource {
  public readonly deploymentName: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly serviceAccountName: pulumi.Output<string>;
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: OnboardingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.onboardingServer, name, {}, opts);

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
    const fromSecret = (envName: string, secret: pulumi.Input<string>, key: string) => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: secret, key } },
    });
    const cfg = args.settings;
    const podLabels = { "app.kubernetes.io/name": objectName };

    // Settings whose names read as secrets to the no-literal-secret-env policy, though their values are not: they come
    // from a ConfigMap, the rule's way for a harmless name (a secrets provider URL names a key, it holds none).
    const settings = new k8s.core.v1.ConfigMap(
      name,
      { metadata: { ...metadata, name: `${objectName}-settings` }, data: { MESH_SIX_SECRETS_PROVIDER: cfg.secretsProvider } },
      { parent: this },
    );

    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata,
        spec: {
          replicas: cfg.replicas,
          selector: { matchLabels: podLabels },
          // Surge, never unavailable: a roll keeps every replica serving until its successor is ready.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: serviceAccount.metadata.name,
              // The server runs Pulumi against this cluster with the pod's own token.
              automountServiceAccountToken: true,
              // On SIGTERM runs get their grace, then go back to the queue for another replica: the pod must outlive both.
              terminationGracePeriodSeconds: cfg.shutdownGraceSeconds + TERMINATION_MARGIN_SECONDS,
              imagePullSecrets: args.pullSecretName !== undefined ? [{ name: args.pullSecretName }] : undefined,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: SERVER_UID,
                runAsGroup: SERVER_UID,
                fsGroup: SERVER_UID,
                seccompProfile: { type: "RuntimeDefault" },
              },
              // Spread replicas so one node's loss leaves the others running.
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: "kubernetes.io/hostname",
                  whenUnsatisfiable: "ScheduleAnyway",
                  labelSelector: { matchLabels: podLabels },
                },
              ],
              // The root file system is read-only: each writable dir of the image is an emptyDir here.
              volumes: SERVER_WRITABLE_DIRS.map((dir) => ({ name: volumeName(dir), emptyDir: { sizeLimit: "2Gi" } })),
              containers: [
                {
                  name: "server",
                  image: args.image,
                  ports: [{ name: "http", containerPort: ONBOARDING_SERVER_PORT }],
                  env: [
                    { name: "PORT", value: String(ONBOARDING_SERVER_PORT) },
                    // Repo stacks are created in the server's own namespace, the only one its Role covers.
                    { name: "MESH_SIX_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    fromSecret("MESH_SIX_API_TOKENS", args.serverSecretName, "MESH_SIX_API_TOKENS"),
                    { name: "DATABASE_URL", value: cfg.databaseUrl },
                    fromSecret("PGUSER", args.platformSecretName, "PG_USER"),
                    fromSecret("PGPASSWORD", args.platformSecretName, "PG_PASSWORD"),
                    {
                      name: "MESH_SIX_SECRETS_PROVIDER",
                      valueFrom: { configMapKeyRef: { name: settings.metadata.name, key: "MESH_SIX_SECRETS_PROVIDER" } },
                    },
                    { name: "VAULT_ADDR", value: cfg.vaultAddr },
                    fromSecret("VAULT_TOKEN", args.platformSecretName, "VAULT_TOKEN"),
                    { name: "GITHUB_API_URL", value: cfg.githubApiUrl },
                    fromSecret("GITHUB_TOKEN", args.platformSecretName, "GITHUB_TOKEN"),
                    { name: "MESH_SIX_PUBLIC_URL", value: cfg.publicUrl },
                    { name: "MESH_SIX_RUN_CONCURRENCY", value: String(cfg.runConcurrency) },
                    { name: "MESH_SIX_RUN_SHUTDOWN_GRACE_MS", value: String(cfg.shutdownGraceSeconds * 1000) },
                    { name: "MESH_SIX_DRAIN_DELAY_MS", value: String(SERVER_DRAIN_DELAY_MS) },
                    ...extraEnv,
                  ],
                  volumeMounts: SERVER_WRITABLE_DIRS.map((dir) => ({ name: volumeName(dir), mountPath: dir })),
                  // Migrations run before the server listens: give a first start a minute before liveness counts.
                  startupProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2, failureThreshold: 30 },
                  // Goes false as soon as the replica starts draining (SIGTERM), and while the database is unreachable.
                  readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5, failureThreshold: 2 },
                  livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 20, failureThreshold: 3 },
                  // Pulumi runs (CLI + language host + plugins) are what use the memory, not Express: the limit is sized to
                  // the run concurrency by the platform config's check.
                  resources: { requests: { cpu: "250m", memory: cfg.memoryLimit }, limits: { cpu: "2", memory: cfg.memoryLimit } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                },
              ],
            },
          },
        },
      },
      { parent: this },
    );

    new k8s.policy.v1.PodDisruptionBudget(
      name,
      { metadata, spec: { maxUnavailable: 1, selector: { matchLabels: podLabels } } },
      { parent: this, dependsOn: [deployment] },
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
