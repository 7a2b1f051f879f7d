import type { Octokit } from "@octokit/rest";

/**
 * What an onboarding needs of GitHub before anything is created: the repository exists and is not archived,
 * its default branch exists (an empty repository has none), and the token may manage its webhooks and contents
 * and its owner's Projects. A classic token says its OAuth scopes in `x-oauth-scopes`; a fine-grained token
 * sends no such header and is judged by the repository `permissions` GitHub reports for it (its Projects
 * access cannot be seen through the REST API, so it is left to the `up`).
 */

export interface RepoRef {
  owner: string;
  repo: string;
}

/** Scopes that include what each need; `repo` covers a repository's hooks and contents. */
const HOOK_SCOPES = ["admin:repo_hook", "repo"];
const CONTENT_SCOPES = ["repo"];
const PUBLIC_CONTENT_SCOPES = ["repo", "public_repo"];
const PROJECT_SCOPES = ["project"];

interface RepoView {
  archived: boolean;
  private: boolean;
  default_branch: string;
  permissions?: { admin?: boolean; push?: boolean };
}

function parseScopes(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  return header
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function status(err: unknown): number | undefined {
  return (err as { status?: number }).status;
}

/** Every reason the onboarding of `ref` would fail for want of something on GitHub; empty when none. */
export async function repoAccessProblems(octokit: Octokit, ref: RepoRef): Promise<string[]> {
  const full = `${ref.owner}/${ref.repo}`;
  let repo: RepoView;
  let scopes: string[] | undefined;
  try {
    const res = await octokit.request("GET /repos/{owner}/{repo}", { owner: ref.owner, repo: ref.repo });
    repo = res.data as RepoView;
    scopes = parseScopes(res.headers["x-oauth-scopes"] as string | undefined);
  } catch (err) {
    if (status(err) === 404) return [`repository ${full} does not exist or the token cannot see it`];
    throw err;
  }
  const problems: string[] = [];
  if (repo.archived) problems.push(`${full} is archived (read-only): unarchive it to onboard it`);
  if (scopes) {
    if (!scopes.some((s) => HOOK_SCOPES.includes(s))) problems.push(`token lacks admin:repo_hook on ${full}`);
    if (!scopes.some((s) => (repo.private ? CONTENT_SCOPES : PUBLIC_CONTENT_SCOPES).includes(s))) {
      problems.push(`token lacks ${repo.private ? "repo" : "public_repo"} on ${full} (to write its contents)`);
    }
    if (!scopes.some((s) => PROJECT_SCOPES.includes(s))) problems.push(`token lacks project on ${ref.owner} (to manage its Projects)`);
  }
  // Whatever the scopes, GitHub lets only admins manage a repository's hooks and only writers push.
  if (!repo.permissions?.admin) problems.push(`token lacks admin access to ${full} (to manage its webhooks)`);
  if (!repo.permissions?.push) problems.push(`token lacks push access to ${full} (to write its contents)`);
  try {
    await octokit.request("GET /repos/{owner}/{repo}/branches/{branch}", { owner: ref.owner, repo: ref.repo, branch: repo.default_branch });
  } catch (err) {
    if (status(err) !== 404) throw err;
    problems.push(
      `default branch ${repo.default_branch} of ${full} does not exist (an empty repository has no branch: push a first commit)`,
    );
  }
  return problems;
}
