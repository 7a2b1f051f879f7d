import { z } from "zod";
import { DNS1123_LABEL, REGISTRY_PULL_SECRET, validateOwner, validateRepo } from "./names";

/**
 * Everything a repo stack is configured with, validated in one place. The stack reads it from its Pulumi
 * config (keys `mesh-six:<field>`); the server and the CLI build it from a request and write it with
 * toStackConfig. An invalid value fails with an error naming the config key.
 */

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, "expected a Kubernetes quantity such as 500m or 2Gi");
const dns1123 = z.string().regex(DNS1123_LABEL, "expected a DNS-1123 label (lower-case letters, digits, '-')");
const gitRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\/|.*\/\/|.*\.\.|.*\/$|.*\.lock$)[^\s~^:?*[\\]+$/, "expected a valid git branch name");

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

/** A base URL GitHub delivers to safely, as the policy pack wants webhooks: https, or plain http on loopback (a sandbox). */
export const publicBaseUrl = z
  .url({
    protocol: /^https?$/,
    error: "required: the server's public base URL (https://…), where GitHub delivers repo webhooks",
    abort: true,
  })
  .refine((v) => {
    const u = new URL(v);
    return u.protocol === "https:" || LOOPBACK.includes(u.hostname);
  }, "must be https:// (plain http only on loopback, for a local sandbox)");

const resources = z
  .object({
    requests: z.object({ cpu: quantity.default("500m"), memory: quantity.default("1Gi") }).prefault({}),
    limits: z.object({ cpu: quantity.default("2"), memory: quantity.default("4Gi") }).prefault({}),
  })
  .strict();

export const WEBHOOK_EVENTS_DEFAULT = ["issues", "issue_comment", "pull_request"];

/** A schema field checked by one of names.ts's validators, whose message (naming the field and why) is the issue's. */
function githubName(validate: (v: string) => string) {
  return z.string().superRefine((value, ctx) => {
    try {
      validate(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });
}

/** Owner and repo fields for every request schema: the same rules as onboarding, reserved names included. */
export const githubOwner = githubName(validateOwner).describe(
  "A GitHub user or organization: 1-39 letters, digits or single inner hyphens, not a name GitHub reserves (orgs, settings, …)",
);
export const githubRepo = githubName(validateRepo).describe(
  'A GitHub repository name: 1-100 letters, digits, ".", "-" or "_", not "." or ".." nor ending in ".git"',
);

const modelName = z.string().min(1).max(200);

const login = z.string().min(1).max(100);
const labelName = z.string().min(1).max(50);
/** Glob patterns over branch names (picomatch syntax); a pattern starting with `!` excludes. */
const branchPatterns = z.array(z.string().min(1).max(255)).max(50).default([]);

/**
 * What keeps a delivery from becoming work although its labels match (server/webhooks/filters.ts). The defaults are
 * the safe side: work nobody asked an agent for is worse than a request an operator has to allow explicitly.
 */
export const deliveryFiltersSchema = z
  .object({
    /** An issue or pull request carrying any of these labels is left alone (e.g. "wontfix"). Default: none. */
    excludeLabels: z.array(labelName).max(100).default([]),
    /** Draft pull requests are not reviewed until they are marked ready (`ready_for_review`). Default: ignored. */
    ignoreDrafts: z.boolean().default(true),
    /** Deliveries sent or authored by bots (`[bot]` logins, user type Bot) are not work. Default: ignored. */
    ignoreBots: z.boolean().default(true),
    /** More GitHub logins whose deliveries are never work (a CI account, a release bot acting as a user). */
    ignoredLogins: z.array(login).max(100).default([]),
    /** Pull requests whose branches match: none given means any branch. */
    pullRequests: z.object({ baseBranches: branchPatterns, headBranches: branchPatterns }).strict().prefault({}),
  })
  .strict();

export type DeliveryFilters = z.output<typeof deliveryFiltersSchema>;

/**
 * The repo's part of its agents' settings in the auth service's project (providers/agent-settings.ts): top-level
 * keys of the agents' settings file, each replaced whole. Shown on the repo, so nothing secret belongs here.
 */
export const agentSettingsSchema = z
  // Values are JSON already (a request body, or stack config read back as JSON); z.json() would be a recursive schema.
  .record(z.string().min(1).max(200), z.unknown())
  .refine((s) => Object.keys(s).length <= 100, "at most 100 keys")
  .refine((s) => JSON.stringify(s).length <= 64 * 1024, "at most 64 KiB of JSON");

/** The repo's team on the LiteLLM proxy and its one virtual key (providers/litellm-team.ts). */
export const liteLLMSettingsSchema = z
  .object({
    /** The team's alias on the proxy. Default: the repository's `owner/repo`. */
    teamAlias: z.string().min(1).max(200).optional(),
    /** Models the team may call; none (the default) means every model the proxy serves. */
    models: z
      .array(modelName)
      .max(100)
      .refine((m) => new Set(m).size === m.length, "must not name a model twice")
      .optional(),
    /** Handed to the environment as LITELLM_DEFAULT_MODEL; one of `models` when those are given. */
    defaultModel: modelName.optional(),
    /** The team's budget in USD; none when absent. */
    maxBudget: z.number().finite().nonnegative().optional(),
    /**
     * Rotates the team's key once for each value it has not had before: repeating a request with the same
     * value rotates nothing. Any string will do, e.g. the date of the rotation.
     */
    rotateKeyNonce: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((s) => s.defaultModel === undefined || !s.models?.length || s.models.includes(s.defaultModel), {
    message: "must be one of litellm.models",
    path: ["defaultModel"],
  });

export const repoStackConfigSchema = z
  .object({
    owner: githubOwner,
    repo: githubRepo,
    displayName: z.string().min(1).max(200).optional(),
    defaultBranch: gitRef.default("main"),
    namespace: dns1123.default("mesh-six"),
    resources: resources.prefault({}),
    /** Envbuilder builds the dev container from the repo's devcontainer.json. */
    envbuilderImage: z.string().min(1).default("ghcr.io/coder/envbuilder:1.1.0"),
    /** Image to start when the devcontainer cannot be built. */
    fallbackImage: z.string().min(1).default("mcr.microsoft.com/devcontainers/base:bookworm"),
    /** Registry repository Envbuilder caches layers in; no caching when absent. */
    cacheRepo: z.string().min(1).optional(),
    initScript: z.string().min(1).default("sleep infinity"),
    pullSecretName: dns1123.default(REGISTRY_PULL_SECRET),
    workspaceStorage: quantity.default("10Gi"),
    sessionStorage: quantity.default("1Gi"),
    storageClassName: dns1123.optional(),
    /**
     * The onboarding server's public base URL; the webhook points at <serverUrl>/webhooks/github/<owner>/<repo>.
     * No default: the only URL that is right is the server's own (MESH_SIX_PUBLIC_URL), and GitHub must reach it.
     */
    serverUrl: publicBaseUrl,
    webhookEvents: z
      .array(z.string().regex(/^[a-z_]+$/))
      .min(1)
      .default(WEBHOOK_EVENTS_DEFAULT),
    /** Keys of the repo's Vault secret (see vaultEnvPath) synced into its environment. */
    envSecretKeys: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name"))
      .min(1)
      .default(["GITHUB_TOKEN"]),
    /** Issue labels that turn an issue into work for agents. */
    labels: z.array(z.string().min(1).max(50)).default(["mesh-six"]),
    /** Issue authors whose issues are processed; empty means anyone. */
    allowedAuthors: z.array(z.string()).default([]),
    /** The auth service project whose credentials this repo's agents use. */
    authProjectId: z.string().min(1).max(200).optional(),
    /** Keys this repo sets in its auth project's agent settings; needs authProjectId. */
    settings: agentSettingsSchema.optional(),
    /** Which matching deliveries still do not become work: drafts, bots, the agents' own, excluded labels and branches. */
    filters: deliveryFiltersSchema.prefault({}),
    /** Replace a devcontainer.json the repository already has. */
    overwriteDevcontainer: z.boolean().default(false),
    /** The repo's prefix in the platform's S3-compatible store; none when absent (the server has no store, or skipStorage). */
    storage: z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name"),
        /** Keep the prefix's objects when the repo is offboarded (its key and user are always removed). */
        keepOnOffboard: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** The repo's LiteLLM team and key; used only when the server has a LiteLLM proxy (LITELLM_API_BASE). */
    litellm: liteLLMSettingsSchema.optional(),
    /** Give the repo no LiteLLM team or key (and remove those it has). */
    skipLiteLLM: z.boolean().default(false),
  })
  .strict();

/** Settings belong to an auth project: without one they would go nowhere. Checked by every schema a request passes. */
export function settingsWithoutAuthProject(c: { settings?: unknown; authProjectId?: string }): boolean {
  return c.settings !== undefined && c.authProjectId === undefined;
}
export const SETTINGS_NEED_AUTH_PROJECT = "needs an authProjectId: the settings are that auth project's";

export type RepoStackConfig = z.output<typeof repoStackConfigSchema>;
export type RepoStackInput = z.input<typeof repoStackConfigSchema>;

export const CONFIG_NAMESPACE = "mesh-six";

export class RepoConfigError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(issues.map((i) => `${i.key}: ${i.message}`).join("; "));
    this.name = "RepoConfigError";
  }
}

/** Validates a config object; errors name each offending key as `mesh-six:<path>`. */
export function parseRepoStackConfig(input: unknown): RepoStackConfig {
  const result = repoStackConfigSchema.safeParse(input);
  if (result.success && settingsWithoutAuthProject(result.data)) {
    throw new RepoConfigError([{ key: `${CONFIG_NAMESPACE}:settings`, message: SETTINGS_NEED_AUTH_PROJECT }]);
  }
  if (result.success) return result.data;
  throw new RepoConfigError(
    result.error.issues.map((issue) => ({
      key: `${CONFIG_NAMESPACE}:${issue.path.join(".") || "(root)"}`,
      message: issue.code === "unrecognized_keys" ? `unknown keys ${issue.keys.join(", ")}` : issue.message,
    })),
  );
}

/** Reads the stack's config through a getter (pulumi.Config in a program, a map in tests). */
export function readRepoStackConfig(get: (key: string) => string | undefined): RepoStackConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(repoStackConfigSchema.shape)) {
    const value = get(key);
    if (value === undefined) continue;
    raw[key] = decode(key, value);
  }
  return parseRepoStackConfig(raw);
}

const STRUCTURED_KEYS = new Set([
  "resources",
  "envSecretKeys",
  "webhookEvents",
  "labels",
  "allowedAuthors",
  "overwriteDevcontainer",
  "storage",
  "litellm",
  "skipLiteLLM",
  "settings",
  "filters",
]);

function decode(key: string, value: string): unknown {
  if (!STRUCTURED_KEYS.has(key)) return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new RepoConfigError([{ key: `${CONFIG_NAMESPACE}:${key}`, message: "expected JSON" }]);
  }
}

/** The stack config (for the Automation API's setAllConfig) that makes a repo stack of this input. */
export function toStackConfig(input: RepoStackInput): Record<string, { value: string; secret?: boolean }> {
  const parsed = parseRepoStackConfig(input);
  const config: Record<string, { value: string }> = { [`${CONFIG_NAMESPACE}:kind`]: { value: "repo" } };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const normalized = parsed[key as keyof RepoStackConfig];
    config[`${CONFIG_NAMESPACE}:${key}`] = {
      value: typeof normalized === "string" ? normalized : JSON.stringify(normalized),
    };
  }
  return config;
}
