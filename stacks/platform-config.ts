import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_REGISTRY, DEV_DEFAULT_TAG, ONBOARDING_SERVER, imageRef, serviceNames } from "./catalog";

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
}

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
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
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
});

/** The raw values as `pulumi.Config` returns them; `undefined` for unset keys. */
export type RawPlatformConfig = { [K in keyof z.input<typeof rawSchema>]?: unknown };

/** Validates raw config for the stack called `stack`; throws a {@link PlatformConfigError} naming every bad key. */
export function parsePlatformConfig(raw: RawPlatformConfig, stack: string): PlatformConfig {
  const parsed = rawSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PlatformConfigError(
      parsed.error.issues.map((i) => ({ key: configKey(...i.path.map(String)), message: i.message })),
    );
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
        message: `is not a catalog service or ${ONBOARDING_SERVER.name} (typo, or a service removed from stacks/catalog.ts?)`,
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

  if (issues.length > 0 || serverImage === undefined) throw new PlatformConfigError(issues);
  return { environment, namespace: cfg.namespace, registry: cfg.registry, images, serverImage, vaultPath: cfg.vaultPath };
}

/** Reads `mesh-six:*` from the current stack's configuration and validates it. */
export function readPlatformConfig(): PlatformConfig {
  // `pulumi config set mesh-six:images.orchestrator v1` without --path stores a flat key that getObject("images")
  // never sees; in prod that would surface as a confusing "missing" error, so name the real mistake instead.
  const flat = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:images.`));
  if (flat.length > 0) {
    throw new PlatformConfigError(
      flat.map((key) => ({ key, message: "is a flat key; set image tags with `pulumi config set --path`" })),
    );
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
