import { existsSync, readFileSync } from "node:fs";
import { request } from "node:https";
import path from "node:path";
import YAML from "yaml";

/**
 * How to reach the Kubernetes API: in-cluster (the pod's service-account token, the way the server runs in
 * production) when it is mounted, else the current context of $KUBECONFIG (a developer or the sandbox).
 * Only what a few GETs need; tokens and keys stay in memory and are never put in an error.
 */
export interface KubeCredentials {
  server: string;
  ca?: Buffer;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** Where the credentials came from, for messages ("in-cluster", or the kubeconfig path and context). */
  source: string;
}

export class KubeCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeCredentialsError";
  }
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  serviceAccountDir?: string;
}

export function loadKubeCredentials(opts: LoadOptions = {}): KubeCredentials {
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  if (host && existsSync(path.join(saDir, "token"))) {
    const port = env.KUBERNETES_SERVICE_PORT ?? "443";
    return {
      server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
      // Read on every load: the kubelet rotates the projected token.
      token: readFileSync(path.join(saDir, "token"), "utf8").trim(),
      ca: readFileSync(path.join(saDir, "ca.crt")),
      source: "in-cluster",
    };
  }
  const file = env.KUBECONFIG?.split(path.delimiter).find(Boolean);
  if (!file) throw new KubeCredentialsError("no Kubernetes credentials: not in a cluster and KUBECONFIG is not set");
  return fromKubeconfig(file);
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

function pick<T>(list: unknown, name: string, kind: string, field: string, file: string): T {
  const entry = Array.isArray(list) ? (list as Named<T>[]).find((e) => e?.name === name) : undefined;
  const value = entry?.[field] as T | undefined;
  if (!value) throw new KubeCredentialsError(`${file}: no ${kind} named "${name}"`);
  return value;
}

function fromKubeconfig(file: string): KubeCredentials {
  let doc: Record<string, unknown>;
  try {
    doc = YAML.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new KubeCredentialsError(`${file}: cannot read the kubeconfig (${(err as Error).message})`);
  }
  const current = doc?.["current-context"];
  if (typeof current !== "string" || !current) throw new KubeCredentialsError(`${file}: no current-context`);
  const ctx = pick<{ cluster: string; user: string }>(doc.contexts, current, "context", "context", file);
  const cluster = pick<Record<string, unknown>>(doc.clusters, ctx.cluster, "cluster", "cluster", file);
  const user = pick<Record<string, unknown>>(doc.users, ctx.user, "user", "user", file);
  // Relative file references in a kubeconfig are relative to the kubeconfig itself.
  const dir = path.dirname(file);
  const read = (data: unknown, ref: unknown): Buffer | undefined => {
    if (typeof data === "string" && data) return Buffer.from(data, "base64");
    if (typeof ref === "string" && ref) return readFileSync(path.resolve(dir, ref));
    return undefined;
  };
  if (typeof cluster.server !== "string" || !cluster.server)
    throw new KubeCredentialsError(`${file}: cluster "${ctx.cluster}" has no server`);
  const tokenFile = typeof user.tokenFile === "string" ? readFileSync(path.resolve(dir, user.tokenFile), "utf8").trim() : undefined;
  const creds: KubeCredentials = {
    server: cluster.server,
    ca: read(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    token: typeof user.token === "string" && user.token ? user.token : tokenFile,
    cert: read(user["client-certificate-data"], user["client-certificate"]),
    key: read(user["client-key-data"], user["client-key"]),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    source: `${file} (context ${current})`,
  };
  if (!creds.token && !(creds.cert && creds.key)) {
    throw new KubeCredentialsError(
      `${file}: user "${ctx.user}" has neither a token nor a client certificate and key (exec and auth-provider plugins are not supported)`,
    );
  }
  return creds;
}

/** One JSON GET against the API server. */
export function kubeGet(creds: KubeCredentials, apiPath: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(apiPath, creds.server),
      {
        method: "GET",
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        rejectUnauthorized: !creds.insecureSkipTlsVerify,
        headers: { Accept: "application/json", ...(creds.token ? { Authorization: `Bearer ${creds.token}` } : {}) },
        signal,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // Left as text: an error page from a proxy in front of the API server.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${apiPath}: no answer from ${creds.server} within 30s`)));
    req.on("error", reject);
    req.end();
  });
}
