import { createHash } from "node:crypto";

/**
 * Every name derived from a repository or an organization, and the one validation of owner, org and repo
 * names that every entry point (onboarding, stack config, routes, tasks, webhooks, the CLI) calls. Each
 * derived name is injective: two different repositories never share a stack, a Kubernetes object, a Vault
 * path or a webhook URL, and no repository shares one with an organization.
 *
 * GitHub compares owner and repo names without regard to case (`Acme/Widgets` is `acme/widgets`), so every
 * derived name starts from the lower-cased `owner/repo`: the two spellings are one repository with one
 * stack, and onboarding it again under the other spelling is an update. The spelling a user typed is kept
 * for display.
 */

/** A DNS-1123 label: what Kubernetes accepts as a namespace and as most objects' names. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The Secret every mesh-six workload takes its environment from (the platform stack syncs it from Vault). */
export const PLATFORM_SECRET_NAME = "mesh-six-secrets";

/**
 * The dockerconfigjson Secret (in the platform namespace) every image from the private registry is pulled with:
 * the platform's workloads and, by default (`mesh-six:pullSecretName`), every repo environment. The policy pack's
 * private-registry-pull-secrets rule refuses a workload without it.
 */
export const REGISTRY_PULL_SECRET = "gitea-registry-secret";

// GitHub: 1-39 characters, letters, digits and single hyphens, neither first nor last.
const OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
// GitHub: up to 100 letters, digits, '.', '-' and '_'; "." and ".." are reserved.
const REPO_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Names GitHub keeps for its own pages (github.com/settings, github.com/orgs/…), which therefore no user or
 * organization can have. GitHub publishes no list; this one is taken from the community-maintained
 * github-reserved-names list (https://github.com/Mottie/github-reserved-names, reserved-names.json, also the
 * npm package of that name), keeping the names of routes and leaving out its HTTP status codes. Refusing them
 * keeps an owner from ever reading as one of GitHub's routes; the derived names below do not rely on it.
 * `team` is not in that list but is GitHub's page of that name (github.com/team), so it is refused too.
 */
const RESERVED_OWNERS = new Set([
  // accounts and organizations
  "account",
  "admin",
  "anonymous",
  "business",
  "businesses",
  "enterprise",
  "ghost",
  "login",
  "logout",
  "oauth",
  "organisations",
  "organizations",
  "orgs",
  "personal",
  "sessions",
  "settings",
  "signin",
  "signup",
  "site",
  "staff",
  "suspended",
  "team",
  "teams",
  "username",
  "users",
  // site sections
  "about",
  "api",
  "apps",
  "blog",
  "changelog",
  "collections",
  "community",
  "contact",
  "customers",
  "dashboard",
  "discussions",
  "docs",
  "downloads",
  "edu",
  "events",
  "explore",
  "features",
  "gist",
  "gists",
  "help",
  "home",
  "hooks",
  "issues",
  "jobs",
  "join",
  "marketplace",
  "new",
  "news",
  "nonprofit",
  "notifications",
  "open-source",
  "pages",
  "partners",
  "plans",
  "pricing",
  "projects",
  "pulls",
  "readme",
  "repositories",
  "resources",
  "search",
  "security",
  "services",
  "shop",
  "sponsors",
  "stars",
  "status",
  "store",
  "support",
  "topics",
  "trending",
  "watching",
  "wiki",
  // repository views, which GitHub also routes under its own names
  "blob",
  "branches",
  "commit",
  "commits",
  "compare",
  "diff",
  "raw",
  "releases",
  "tree",
]);

export class InvalidRepoNameError extends Error {
  constructor(
    readonly field: "owner" | "repo" | "org",
    readonly value: string,
    reason: string,
  ) {
    const kind = { owner: "owner", repo: "repository", org: "organization" }[field];
    super(`${field} ${JSON.stringify(value)} is not a valid GitHub ${kind} name: ${reason}`);
    this.name = "InvalidRepoNameError";
  }
}

function checkAccountName(field: "owner" | "org", name: string): string {
  if (typeof name !== "string" || !OWNER_PATTERN.test(name)) {
    throw new InvalidRepoNameError(field, String(name), "use 1-39 letters, digits or single inner hyphens");
  }
  if (RESERVED_OWNERS.has(name.toLowerCase())) {
    throw new InvalidRepoNameError(field, name, "the name is reserved by GitHub for its own pages, so no account has it");
  }
  return name;
}

/** A user or organization owning a repository. */
export function validateOwner(owner: string): string {
  return checkAccountName("owner", owner);
}

/** An organization on its own (org webhooks); the same rules as an owner, named as such in errors. */
export function validateOrg(org: string): string {
  return checkAccountName("org", org);
}

export function validateRepo(repo: string): string {
  if (typeof repo !== "string" || !REPO_PATTERN.test(repo) || repo === "." || repo === "..") {
    throw new InvalidRepoNameError("repo", String(repo), 'use 1-100 letters, digits, ".", "-" or "_" (not "." or "..")');
  }
  if (repo.toLowerCase().endsWith(".git")) {
    throw new InvalidRepoNameError("repo", repo, 'GitHub does not allow a name ending in ".git"');
  }
  return repo;
}

export interface RepoRef {
  owner: string;
  repo: string;
}

/** The validated repository of an owner and a repo given apart (route parameters, request fields). */
export function repoRefOf(owner: string, repo: string): RepoRef {
  return { owner: validateOwner(owner), repo: validateRepo(repo) };
}

/** Parses and validates "owner/repo". */
export function parseRepoRef(fullName: string): RepoRef {
  const parts = fullName.split("/");
  if (parts.length !== 2) throw new InvalidRepoNameError("repo", fullName, 'expected "owner/repo"');
  return repoRefOf(parts[0], parts[1]);
}

function canonical({ owner, repo }: RepoRef): string {
  return `${validateOwner(owner)}/${validateRepo(repo)}`.toLowerCase();
}

function hash(text: string, hexChars: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, hexChars);
}

// Pulumi stack names: [A-Za-z0-9_.-], at most 100 characters.
const STACK_NAME_MAX = 100;

/**
 * `<owner>.<repo>`: an owner never contains a dot, so the first dot splits it unambiguously. The few names
 * longer than Pulumi allows are cut to exactly the limit with a hash of the whole name; an uncut name is
 * always shorter than that, so the two kinds can never meet.
 */
export function stackNameFor(ref: RepoRef): string {
  const full = canonical(ref).replace("/", ".");
  if (full.length < STACK_NAME_MAX) return full;
  const suffix = `-${hash(full, 16)}`;
  return full.slice(0, STACK_NAME_MAX - suffix.length) + suffix;
}

/** The reverse of stackNameFor for uncut names; undefined for anything that is not a repo stack's name. */
export function repoRefFromStackName(stack: string): RepoRef | undefined {
  const dot = stack.indexOf(".");
  if (dot <= 0 || stack.length >= STACK_NAME_MAX) return undefined;
  try {
    return repoRefOf(stack.slice(0, dot), stack.slice(dot + 1));
  } catch {
    return undefined;
  }
}

// A StatefulSet's name also becomes part of its pods' `controller-revision-hash` label (name + "-" + 10
// characters, at most 63), so 52 is the longest StatefulSet name that always works.
const K8S_NAME_MAX = 52;

/**
 * `env-<owner>-<repo>-<hash>`: a valid DNS-1123 label. Joining with "-" and replacing "." and "_" loses
 * information ("a-b/c" and "a/b-c" read the same), so a hash of the exact repository always follows.
 */
export function k8sNameFor(ref: RepoRef, prefix = "env"): string {
  const full = canonical(ref);
  const suffix = `-${hash(full, 10)}`;
  const readable = `${prefix}-${full.replace(/[/._]/g, "-")}`
    .replace(/-+/g, "-")
    .slice(0, K8S_NAME_MAX - suffix.length)
    .replace(/-+$/, "");
  return readable + suffix;
}

// Webhook secrets of repos and of organizations live under different fixed segments, and the routes their
// deliveries arrive on likewise, so no repository's name can ever produce an organization's path or URL (nor
// the reverse), even one that validation would have refused.
const VAULT_WEBHOOKS = "mesh-six/webhooks";
/** Where the repo stacks write webhook secrets (the policy pack holds them to it). */
export const VAULT_REPO_WEBHOOKS_PREFIX = `${VAULT_WEBHOOKS}/repos/`;
const VAULT_ORG_WEBHOOKS_PREFIX = `${VAULT_WEBHOOKS}/orgs/`;
/** The server's routes for repo and org webhook deliveries; the segments differ, so their URLs never meet. */
export const REPO_WEBHOOK_ROUTE = "/webhooks/github";
export const ORG_WEBHOOK_ROUTE = "/webhooks/github-org";

/** Path of the repo's webhook secret below the KV v2 mount ("secret/data/" + this on the HTTP API). */
export function vaultWebhookPath(ref: RepoRef): string {
  return `${VAULT_REPO_WEBHOOKS_PREFIX}${canonical(ref)}`;
}

/**
 * Where stacks applied before repo secrets moved under `repos/` wrote them, and registered them. The server
 * still reads a repo's secret there while its registry row says so (until its next `up`); validation keeps
 * reserved owners such as `orgs` out, so this old form cannot reach an organization's secret either.
 */
export function legacyVaultWebhookPath(ref: RepoRef): string {
  return `${VAULT_WEBHOOKS}/${canonical(ref)}`;
}

/** Path of an organization's webhook secret below the KV v2 mount. */
export function vaultOrgWebhookPath(org: string): string {
  return `${VAULT_ORG_WEBHOOKS_PREFIX}${validateOrg(org).toLowerCase()}`;
}

/** Path of the secrets synced into the repo's environment, below the KV v2 mount. */
export function vaultEnvPath(ref: RepoRef): string {
  return `mesh-six/repos/${canonical(ref)}/env`;
}

/** Path of the repo's storage key (written by its StoragePrefix, synced into its environment), below the KV v2 mount. */
export function vaultStoragePath(ref: RepoRef): string {
  return `mesh-six/repos/${canonical(ref)}/storage`;
}

/** The repo's prefix in the platform's bucket: every repo's objects below one key of its own. */
export function storagePrefixFor(ref: RepoRef): string {
  return `repos/${canonical(ref)}/`;
}

/** Path of the repo's LiteLLM key below the KV v2 mount, written by its LiteLLM team resource. */
export function vaultLiteLLMPath(ref: RepoRef): string {
  return `mesh-six/repos/${canonical(ref)}/litellm`;
}

/** The alias of the repo's LiteLLM key, unique on the proxy (LiteLLM refuses a second key of an alias). */
export function liteLLMKeyAlias(ref: RepoRef): string {
  return `mesh-six:${canonical(ref)}`;
}

/** The server's route for the repo's GitHub webhook deliveries. */
export function webhookUrlPath(ref: RepoRef): string {
  return `${REPO_WEBHOOK_ROUTE}/${canonical(ref)}`;
}

/** The server's route for an organization's GitHub webhook deliveries. */
export function orgWebhookUrlPath(org: string): string {
  return `${ORG_WEBHOOK_ROUTE}/${validateOrg(org).toLowerCase()}`;
}

/** Labels naming the repo on every Kubernetes object of its stack; values must be valid label values. */
export function repoLabels(ref: RepoRef): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "mesh-six",
    "app.kubernetes.io/managed-by": "pulumi",
    "mesh-six.dev/repo": k8sNameFor(ref, "repo"),
  };
}
