import { createHash } from "node:crypto";

/**
 * Every name derived from a repository. Each is injective: two different repositories never share a stack,
 * a Kubernetes object or a Vault path. GitHub compares owner and repo names without regard to case, so
 * derived names start from the lower-cased `owner/repo`; the spelling a user typed is kept for display.
 */

// GitHub: 1-39 characters, letters, digits and single hyphens, neither first nor last.
const OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
// GitHub: up to 100 letters, digits, '.', '-' and '_'; "." and ".." are reserved.
const REPO_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

export class InvalidRepoNameError extends Error {
  constructor(
    readonly field: "owner" | "repo",
    readonly value: string,
    reason: string,
  ) {
    super(`${field} ${JSON.stringify(value)} is not a valid GitHub ${field === "owner" ? "owner" : "repository"} name: ${reason}`);
    this.name = "InvalidRepoNameError";
  }
}

export function validateOwner(owner: string): string {
  if (!OWNER_PATTERN.test(owner)) {
    throw new InvalidRepoNameError("owner", owner, "use 1-39 letters, digits or single inner hyphens");
  }
  return owner;
}

export function validateRepo(repo: string): string {
  if (!REPO_PATTERN.test(repo) || repo === "." || repo === "..") {
    throw new InvalidRepoNameError("repo", repo, 'use 1-100 letters, digits, ".", "-" or "_" (not "." or "..")');
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

/** Parses and validates "owner/repo". */
export function parseRepoRef(fullName: string): RepoRef {
  const parts = fullName.split("/");
  if (parts.length !== 2) throw new InvalidRepoNameError("repo", fullName, 'expected "owner/repo"');
  return { owner: validateOwner(parts[0]), repo: validateRepo(parts[1]) };
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
    return { owner: validateOwner(stack.slice(0, dot)), repo: validateRepo(stack.slice(dot + 1)) };
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

/** Path of the repo's webhook secret below the KV v2 mount ("secret/data/" + this on the HTTP API). */
export function vaultWebhookPath(ref: RepoRef): string {
  return `mesh-six/webhooks/${canonical(ref)}`;
}

/** Path of the secrets synced into the repo's environment, below the KV v2 mount. */
export function vaultEnvPath(ref: RepoRef): string {
  return `mesh-six/repos/${canonical(ref)}/env`;
}

/** The server's route for the repo's GitHub webhook deliveries. */
export function webhookUrlPath(ref: RepoRef): string {
  return `/webhooks/github/${canonical(ref)}`;
}

/** Labels naming the repo on every Kubernetes object of its stack; values must be valid label values. */
export function repoLabels(ref: RepoRef): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "mesh-six",
    "app.kubernetes.io/managed-by": "pulumi",
    "mesh-six.dev/repo": k8sNameFor(ref, "repo"),
  };
}
