import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_REGISTRY, DEV_DEFAULT_TAG, ONBOARDING_SERVER, imageRef, serviceNames } from "../domain/catalog";
import { DNS1123_LABEL } from "../domain/names";
import runMemory from "./run-memory.json";

/**
 * The platform stack's configuration, validated. Raw keys live under the `mesh-six` namespace:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `mesh-six:kind` | — | must be `platform` when set (the entry picks this program by it) |
 * | `mesh-six:environment` | from the stack name `platform-<env>` | `dev` or `prod`; must agree with the stack name |
 * | `mesh-six:namespace` | `mesh-six` | namespace of mesh-six and of every repo stack's objects |
 * | `mesh-six:registry` | `registry.bto.bar/jaybrto` | image registry prefix |
 * | `mesh-six:images.<name>` | dev: `latest`; prod: required | tag or `sha256:` digest per catalog service and for `onboarding-server` |
 * | `mesh-six:serverImage` | `<registry>/mesh-six-onboarding-server:<images.onboarding-server>` | full image reference of the server, for images built elsewhere |
 * | `mesh-six:vaultPath` | `mesh-six/platform` | KV v2 path (below the `secret` mount) that `mesh-six-secrets` is read from |
 * | `mesh-six:server.publicUrl` | — (required) | the server's public base URL, `https://` (loopback `http://` only for a local sandbox): repo webhooks point at it |
 * | `mesh-six:server.databaseUrl` | — (required) | PostgreSQL of the server and of Pulumi's state, without credentials (they come from Vault: `PG_USER`, `PG_PASSWORD`) |
 * | `mesh-six:server.vaultAddr` | `http://vault.vault.svc:8200` | Vault: webhook secrets, and the transit engine of the stacks' secrets |
 * | `mesh-six:server.githubApiUrl` | `https://api.github.com` | GitHub's REST API |
 * | `mesh-six:server.secretsProvider` | `hashivault://mesh-six-state` | how stack secrets are encrypted (a transit key every replica reaches) |
 * | `mesh-six:server.vaultPath` | `mesh-six/onboarding-server` | KV v2 path of the server's own secret (`MESH_SIX_API_TOKENS`) |
 * | `mesh-six:server.replicas` | 2 | server replicas (at least 2: a PodDisruptionBudget keeps one through node drains) |
 * | `mesh-six:server.runConcurrency` | as many as `2Gi` holds (`DEFAULT_RUN_CONCURRENCY`) | Pulumi runs at once per replica |
 * | `mesh-six:server.memoryLimit` | `2Gi` | each replica's memory limit: at least `SERVER_BASE_MEMORY_MI` plus `RUN_MEMORY_MI` per concurrent run, both from the measured peaks (stacks/run-memory.json) |
 * | `mesh-six:server.shutdownGraceSeconds` | 60 | how long a stopping replica lets its runs finish before handing them back |
 */
export interface PlatformConfig {
  environment: Environment;
  namespace: string;
  registry: string;
  /** Tag or digest for every catalog service, missing dev tags already defaulted. */
  images: Record<string, string>;
  /** The onboarding server's full image reference. */
  serverImage: string;
  vaultPath: string;
  server: ServerDeploymentConfig;
}

/** What the onboarding server's Deployment is given besides its image (see the table above). */
export interface ServerDeploymentConfig {
  publicUrl: string;
  databaseUrl: string;
  vaultAddr: string;
  githubApiUrl: string;
  secretsProvider: string;
  vaultPath: string;
  replicas: number;
  runConcurrency: number;
  memoryLimit: string;
  shutdownGraceSeconds: number;
}

/**
 * A replica's memory apart from its runs, and what one run's Pulumi processes take: the peaks `bench/run timeline`
 * measured (stacks/run-memory.json, docs/BENCHMARKS.md) with a quarter's headroom, rounded up to 64 Mi.
 */
const withHeadroom = (mib: number) => Math.ceil((mib * 1.25) / 64) * 64;
export const SERVER_BASE_MEMORY_MI = withHeadroom(runMemory.serverPeakMiB);
export const RUN_MEMORY_MI = withHeadroom(runMemory.runPeakMiB);
/** Each replica's default limit, and the most runs at once it holds by those figures (at least one). */
export const DEFAULT_MEMORY_LIMIT = "2Gi";
export const DEFAULT_RUN_CONCURRENCY = Math.max(1, Math.floor((2048 - SERVER_BASE_MEMORY_MI) / RUN_MEMORY_MI));

export type Environment = "dev" | "prod";

export const DEFAULT_NAMESPACE = "mesh-six";
export const DEFAULT_VAULT_PATH = "mesh-six/platform";

const CONFIG_NAMESPACE = "mesh-six";

export interface ConfigIssue {
  /** The full config key that is wrong, e.g. `mesh-six:images.orchestrator`. */
  key: string;
  message: string;
}

/** Every problem in the configuration at once, each naming its key, so one `pulumi up` shows all of them. */
export class PlatformConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(`invalid platform stack configuration: ${issues.map((i) => `${i.key}: ${i.message}`).join("; ")}`);
    this.name = "PlatformConfigError";
    this.issues = issues;
  }

  get keys(): string[] {
    return this.issues.map((i) => i.key);
  }
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
// host[:port] followed by lower-case path segments; no scheme, no trailing slash.
const REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const VAULT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const PLATFORM_STACK = /^platform-(dev|prod)$/;

const tagOrDigest = z
  .string()
  .refine((v) => TAG.test(v) || DIGEST.test(v), "must be an image tag (e.g. v0.9.3) or a digest sha256:<64 hex>");

const rawSchema = z.object({
  kind: z.literal("platform", { error: 'this is the platform program; the stack must set "platform"' }).optional(),
  environment: z.enum(["dev", "prod"], { error: 'must be "dev" or "prod"' }).optional(),
  namespace: z
    .string()
    .regex(DNS1123_LABEL, "must be a DNS-1123 label (lower-case letters, digits, '-'; at most 63)")
    .default(DEFAULT_NAMESPACE),
  registry: z
    .string()
    .regex(REGISTRY, "must be a registry prefix such as registry.example.com/org, without scheme or trailing slash")
    .default(DEFAULT_REGISTRY),
  images: z.record(z.string(), tagOrDigest, { error: "must be a map of service name to tag" }).default({}),
  serverImage: z.string().min(1).optional(),
  vaultPath: z
    .string()
    .regex(VAULT_PATH, "must be a path below the KV v2 mount such as mesh-six/platform, without leading or trailing '/'")
    .default(DEFAULT_VAULT_PATH),
  server: z.unknown().optional(),
});

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const QUANTITY_MI: Record<string, number> = { Mi: 1, Gi: 1024, Ti: 1024 * 1024, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 };

/** Mebibytes in a Kubernetes memory quantity of the units a limit is written in; undefined if it is none of them. */
export function memoryMi(quantity: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Mi|Gi|Ti|M|G)$/.exec(quantity);
  return m ? Number(m[1]) * QUANTITY_MI[m[2]] : undefined;
}

const serverSchema = z
  .object({
    publicUrl: z.url({ protocol: /^https?$/, error: "must be the server's public https:// URL" }).refine((v) => {
      const u = new URL(v);
      return u.protocol === "https:" || LOOPBACK.has(u.hostname);
    }, "must be https:// (GitHub delivers signed webhooks there; plain http only on loopback, for a local sandbox)"),
    databaseUrl: z
      .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// URL" })
      .refine((v) => !new URL(v).password, "must not carry a password: PG_USER and PG_PASSWORD come from Vault"),
    vaultAddr: z.url({ protocol: /^https?$/ }).default("http://vault.vault.svc:8200"),
    githubApiUrl: z.url({ protocol: /^https?$/ }).default("https://api.github.com"),
    secretsProvider: z
      .string()
      .regex(/^[a-z][a-z0-9+.-]*:\/\/./, "must be a secrets provider URL such as hashivault://mesh-six-state")
      .default("hashivault://mesh-six-state"),
    vaultPath: z
      .string()
      .regex(VAULT_PATH, "must be a path below the KV v2 mount, without leading or trailing '/'")
      .default("mesh-six/onboarding-server"),
    replicas: z.number().int().min(2, "must be at least 2: one replica would stop onboarding on every node drain").max(20).default(2),
    runConcurrency: z.number().int().min(1).max(16).default(DEFAULT_RUN_CONCURRENCY),
    memoryLimit: z
      .string()
      .refine((v) => memoryMi(v) !== undefined, "must be a memory quantity such as 2Gi or 1536Mi")
      .default(DEFAULT_MEMORY_LIMIT),
    shutdownGraceSeconds: z.number().int().min(5).max(3600).default(60),
  })
  .strict();

/** The raw values as `pulumi.Config` returns them; `undefined` for unset keys. */
export type RawPlatformConfig = { [K in keyof z.input<typeof rawSchema>]?: unknown };

/** Validates raw config for the stack called `stack`; throws a {@link PlatformConfigError} naming every bad key. */
export function parsePlatformConfig(raw: RawPlatformConfig, stack: string): PlatformConfig {
  const parsed = rawSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PlatformConfigError(parsed.error.issues.map((i) => ({ key: configKey(...i.path.map(String)), message: i.message })));
  }
  const cfg = parsed.data;
  const issues: ConfigIssue[] = [];

  const fromStack = PLATFORM_STACK.exec(stack)?.[1] as Environment | undefined;
  if (fromStack && cfg.environment && cfg.environment !== fromStack) {
    issues.push({
      key: configKey("environment"),
      message: `is "${cfg.environment}" but the stack "${stack}" is the ${fromStack} platform; remove it or fix it`,
    });
  }
  const environment = fromStack ?? cfg.environment;
  if (!environment) {
    issues.push({
      key: configKey("environment"),
      message: `is unset and the stack name "${stack}" is not platform-dev or platform-prod; set "dev" or "prod"`,
    });
    throw new PlatformConfigError(issues);
  }

  const known = new Set([...serviceNames(), ONBOARDING_SERVER.name]);
  for (const name of Object.keys(cfg.images)) {
    if (!known.has(name)) {
      issues.push({
        key: configKey("images", name),
        message: `is not a catalog service or ${ONBOARDING_SERVER.name} (typo, or a service removed from domain/catalog.ts?)`,
      });
    }
  }

  const resolveTag = (name: string): string | undefined => {
    const tag = cfg.images[name];
    if (environment === "dev") return tag ?? DEV_DEFAULT_TAG;
    const problem = prodTagProblem(tag);
    if (problem) issues.push({ key: configKey("images", name), message: problem });
    return tag;
  };

  const images: Record<string, string> = {};
  for (const name of serviceNames()) {
    const tag = resolveTag(name);
    if (tag) images[name] = tag;
  }

  let serverImage: string | undefined;
  if (cfg.serverImage !== undefined) {
    if (cfg.images[ONBOARDING_SERVER.name] !== undefined) {
      issues.push({
        key: configKey("serverImage"),
        message: `conflicts with ${configKey("images", ONBOARDING_SERVER.name)}; set only one of them`,
      });
    }
    const problem = imageRefProblem(cfg.serverImage, environment);
    if (problem) issues.push({ key: configKey("serverImage"), message: problem });
    serverImage = cfg.serverImage;
  } else {
    const tag = resolveTag(ONBOARDING_SERVER.name);
    if (tag) serverImage = imageRef(cfg.registry, ONBOARDING_SERVER.image, tag);
  }

  const server = serverSchema.safeParse(cfg.server ?? {});
  if (!server.success) {
    for (const i of server.error.issues) issues.push({ key: configKey("server", ...i.path.map(String)), message: i.message });
  } else {
    // A limit that cannot hold the concurrency (by the measured figures) would OOM-kill the replica mid-update.
    const needed = SERVER_BASE_MEMORY_MI + server.data.runConcurrency * RUN_MEMORY_MI;
    if (memoryMi(server.data.memoryLimit)! < needed) {
      issues.push({
        key: configKey("server", "memoryLimit"),
        message: `${server.data.memoryLimit} cannot hold ${configKey("server", "runConcurrency")}=${server.data.runConcurrency} (${SERVER_BASE_MEMORY_MI}Mi + ${RUN_MEMORY_MI}Mi per run = ${needed}Mi); raise the limit or lower the concurrency`,
      });
    }
  }

  if (issues.length > 0 || serverImage === undefined || !server.success) throw new PlatformConfigError(issues);
  return {
    environment,
    namespace: cfg.namespace,
    registry: cfg.registry,
    images,
    serverImage,
    vaultPath: cfg.vaultPath,
    server: server.data,
  };
}

/** Reads `mesh-six:*` from the current stack's configuration and validates it. */
export function readPlatformConfig(): PlatformConfig {
  // `pulumi config set mesh-six:images.orchestrator v1` without --path stores a flat key that getObject("images")
  // never sees; in prod that would surface as a confusing "missing" error, so name the real mistake instead.
  const flat = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:images.`));
  if (flat.length > 0) {
    throw new PlatformConfigError(flat.map((key) => ({ key, message: "is a flat key; set image tags with `pulumi config set --path`" })));
  }
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  return parsePlatformConfig(
    {
      kind: config.get("kind"),
      environment: config.get("environment"),
      namespace: config.get("namespace"),
      registry: config.get("registry"),
      images: config.getObject<unknown>("images"),
      serverImage: config.get("serverImage"),
      vaultPath: config.get("vaultPath"),
      server: config.getObject<unknown>("server"),
    },
    pulumi.getStack(),
  );
}

function configKey(...path: string[]): string {
  return `${CONFIG_NAMESPACE}:${path.join(".")}`;
}

function prodTagProblem(tag: string | undefined): string | undefined {
  if (tag === undefined) return "is missing; prod pins every image to a version tag or a sha256: digest";
  if (tag.toLowerCase() === "latest") return '"latest" moves under a running stack; prod pins a version tag or a sha256: digest';
  return undefined;
}

function imageRefProblem(ref: string, environment: Environment): string | undefined {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const withoutDigest = at >= 0 ? ref.slice(0, at) : ref;
  // A ':' after the last '/' separates the tag; one before it belongs to a registry port.
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  const repository = colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest;
  const tag = colon >= 0 ? withoutDigest.slice(colon + 1) : undefined;

  if (!REGISTRY.test(repository)) return `"${ref}" is not an image reference (repository "${repository}")`;
  if (tag !== undefined && !TAG.test(tag)) return `"${ref}" has an invalid tag "${tag}"`;
  if (digest !== undefined && !DIGEST.test(digest)) return `"${ref}" has an invalid digest; expected sha256:<64 hex>`;
  if (environment === "prod" && digest === undefined) {
    return tag === undefined ? "has no tag, which means latest; prod pins a version tag or a sha256: digest" : prodTagProblem(tag);
  }
  return undefined;
}
