/**
 * The onboarding server as the platform stack declares it: the platform stack brought up against the sandbox's
 * API server, then the server container read back from the cluster and started the way a kubelet would start
 * it, with nothing of the test's own environment:
 *
 * - its command is the image's (the Dockerfile's last stage: ENV, WORKDIR, CMD);
 * - its environment is the image's ENV plus exactly the container's `env`, each `valueFrom` resolved as the
 *   kubelet does (fieldRef, configMapKeyRef) and as External Secrets would fill the Secrets it names (the ExternalSecret in the
 *   cluster → its `remoteRef` → the sandbox's Vault);
 * - every volumeMount is a new empty directory, and so is the working directory;
 * - the Kubernetes API is reached with a token of the declared ServiceAccount (TokenRequest), so the server can
 *   do exactly what its Role allows.
 *
 * Translations, and only these: image paths to this checkout (`/app` → the project, `/pulumi/bin` → the
 * bootstrap's tools), mount paths to their directories, the in-cluster token file to a kubeconfig holding the
 * same token (the Kubernetes clients read the token file from a fixed path that a test cannot give each pod),
 * and tini left out (the test's process group does its reaping). It runs as the test's user: uid 10001 could
 * not reach the toolchain cache (scripts/image smoke runs the built image as that user).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DockerfileParser } from "dockerfile-ast";
import YAML from "yaml";
import { type ServerProcess, startServerProcess, TSX_LOADER } from "./server-process";
import { kubeApi } from "./kube-api";
import { readVaultSecret } from "./vault-api";

const ROOT = path.resolve(__dirname, "..");
const TOOLS_BIN = path.join(process.env.MESH_SIX_TOOLS ?? path.join(ROOT, ".tools"), "bin");
const IMAGE_PATHS: [string, string][] = [
  ["/app", ROOT],
  ["/pulumi/bin", TOOLS_BIN],
  // The image's plugins are the bootstrap's plugin cache here.
  ["/pulumi/plugins", path.join(process.env.PULUMI_HOME ?? "", "plugins")],
];

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects as the API server returns them */
export interface DeclaredContainer {
  namespace: string;
  serviceAccountName: string;
  container: any;
}

export async function readDeclaredServer(namespace: string, name = "onboarding-server"): Promise<DeclaredContainer> {
  const res = await kubeApi("GET", `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
  if (res.status !== 200) throw new Error(`Deployment ${namespace}/${name}: HTTP ${res.status}`);
  const pod = (res.body as any).spec.template.spec;
  return { namespace, serviceAccountName: pod.serviceAccountName, container: pod.containers.find((c: any) => c.name === "server") };
}

/** What the image itself contributes: its ENV, WORKDIR and CMD (ENTRYPOINT is tini, a reaper), with image paths translated. */
export function imageRuntime(): { env: Record<string, string>; workdir: string; cmd: string[] } {
  const dockerfile = DockerfileParser.parse(readFileSync(path.join(ROOT, "Dockerfile"), "utf8"));
  const stages = dockerfile.getFROMs();
  const last = stages[stages.length - 1].getRange().start.line;
  const env: Record<string, string> = { PATH: "/usr/local/bin:/usr/bin:/bin" };
  let workdir = "/";
  let cmd: string[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getRange().start.line < last) continue;
    const keyword = instruction.getKeyword();
    if (keyword === "ENV") {
      for (const p of (instruction as any).getProperties()) {
        env[p.getName()] = String(p.getValue()).replace(
          /\$(\w+)|\$\{(\w+)\}/g,
          (_: string, a?: string, b?: string) => env[(a ?? b)!] ?? "",
        );
      }
    } else if (keyword === "WORKDIR") workdir = instruction.getArgumentsContent()!;
    else if (keyword === "CMD") cmd = JSON.parse(instruction.getArgumentsContent()!) as string[];
  }
  const translate = (v: string) => IMAGE_PATHS.reduce((s, [from, to]) => s.split(from).join(to), v);
  return { env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, translate(v)])), workdir: translate(workdir), cmd };
}

/** The container's `env`, resolved: literal values, the pod's namespace, and Secrets as External Secrets fills them from Vault. */
export async function resolveDeclaredEnv(declared: DeclaredContainer): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (declared.container.envFrom) throw new Error("envFrom is not resolved here: the server declares each variable");
  for (const e of declared.container.env as any[]) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = declared.namespace;
    else if (e.valueFrom?.secretKeyRef)
      env[e.name] = await externalSecretValue(declared.namespace, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
    else if (e.valueFrom?.configMapKeyRef)
      env[e.name] = await configMapValue(declared.namespace, e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key);
    else throw new Error(`env ${e.name}: ${JSON.stringify(e.valueFrom)} is not a source this test resolves`);
  }
  return env;
}

async function configMapValue(namespace: string, name: string, key: string): Promise<string> {
  const res = await kubeApi("GET", `/api/v1/namespaces/${namespace}/configmaps/${name}`);
  if (res.status !== 200) throw new Error(`ConfigMap ${name}: HTTP ${res.status}`);
  const value = (res.body as any).data?.[key];
  if (value === undefined) throw new Error(`ConfigMap ${name} has no key ${key}`);
  return value;
}

async function externalSecretValue(namespace: string, secretName: string, key: string): Promise<string> {
  const res = await kubeApi("GET", `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${secretName}`);
  if (res.status !== 200) throw new Error(`no ExternalSecret makes Secret ${secretName} (HTTP ${res.status})`);
  const entry = ((res.body as any).spec.data as any[]).find((d) => d.secretKey === key);
  if (!entry) throw new Error(`ExternalSecret ${secretName} has no key ${key}`);
  const data = await readVaultSecret(entry.remoteRef.key);
  const value = data?.[entry.remoteRef.property];
  if (value === undefined)
    throw new Error(`Vault secret/${entry.remoteRef.key} has no property ${entry.remoteRef.property} (for ${secretName}/${key})`);
  return value;
}

/** A kubeconfig for the declared ServiceAccount: the sandbox's API server and CA with a token issued for that account. */
export async function serviceAccountKubeconfig(declared: DeclaredContainer, dir: string): Promise<string> {
  const res = await kubeApi("POST", `/api/v1/namespaces/${declared.namespace}/serviceaccounts/${declared.serviceAccountName}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  if (res.status !== 201) throw new Error(`TokenRequest for ${declared.serviceAccountName}: HTTP ${res.status}`);
  const admin = YAML.parse(readFileSync(process.env.KUBECONFIG!, "utf8"));
  const cluster = admin.clusters[0].cluster;
  const file = path.join(dir, "kubeconfig");
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "sandbox", cluster }],
      users: [{ name: declared.serviceAccountName, user: { token: (res.body as any).status.token } }],
      contexts: [{ name: "pod", context: { cluster: "sandbox", user: declared.serviceAccountName, namespace: declared.namespace } }],
      "current-context": "pod",
    }),
    { mode: 0o600 },
  );
  return file;
}

export interface DeclaredPod {
  server: ServerProcess;
  /** The empty directories this pod started with: its working directory and each volume. */
  dirs: string[];
  env: Record<string, string>;
}

/** Starts the declared container as a new pod would: new empty directories, the image's env plus the declared env. */
export async function startDeclaredPod(declared: DeclaredContainer, kubeconfig: string): Promise<DeclaredPod> {
  const image = imageRuntime();
  const declaredEnv = await resolveDeclaredEnv(declared);
  const cwd = mkdtempSync(path.join(tmpdir(), "mesh-six-pod-"));
  const dirs = [cwd];
  const mounts: [string, string][] = (declared.container.volumeMounts ?? []).map((m: any) => {
    const dir = mkdtempSync(path.join(tmpdir(), `mesh-six-pod-${m.name}-`));
    dirs.push(dir);
    return [m.mountPath, dir];
  });
  // A value naming a mounted path names its directory here.
  const onMounts = (v: string) =>
    mounts.reduce((s, [from, to]) => (s === from || s.startsWith(`${from}/`) ? to + s.slice(from.length) : s), v);
  // The image's ENV, then the declared env over it, as a container gets them; paths in mounted dirs go to their dirs.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...image.env, ...declaredEnv })) env[k] = onMounts(v);
  // What the kubelet adds to every container: the API server's address (and the token file, here a kubeconfig).
  const api = new URL(YAML.parse(readFileSync(kubeconfig, "utf8")).clusters[0].cluster.server);
  env.KUBERNETES_SERVICE_HOST = api.hostname;
  env.KUBERNETES_SERVICE_PORT = api.port || "443";
  env.KUBECONFIG = kubeconfig;
  if (image.cmd[0] !== "node") throw new Error(`the image's CMD is ${JSON.stringify(image.cmd)}; this test starts node programs`);
  const command = [
    process.execPath,
    ...image.cmd.slice(1).map((a) => (a === "tsx" ? TSX_LOADER : a.endsWith(".ts") ? path.join(image.workdir, a) : a)),
  ];
  const server = await startServerProcess({
    baseEnv: env,
    port: Number(env.PORT),
    token: env.MESH_SIX_API_TOKENS.split(",")[0],
    cwd,
    command,
    readyTimeoutMs: 120_000,
  });
  return { server, dirs, env };
}
