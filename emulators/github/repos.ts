// Owners and repositories: lookups, creation, and their REST representations.
import { validateOwner, validateRepo } from "../../domain/names";
import { notFound, validationFailed } from "./errors";
import { newNodeId } from "./ids";
import { FULL_PERMISSIONS, type RepoPermissions } from "./tokens";
import { EmulatorState, EmulatorStore, OwnerRecord, OwnerType, RepoRecord, VIEWER_LOGIN, ownerKey, repoKey, timestamp } from "./state";

export const HTML_BASE = "https://github.com";

/** Whether `validate` (GitHub's rules, as the onboarding server applies them) accepts `value`. */
function accepted(validate: (v: string) => string, value: unknown): value is string {
  try {
    validate(value as string);
    return true;
  } catch {
    return false;
  }
}

export function findOwner(state: EmulatorState, login: string): OwnerRecord | undefined {
  return state.owners[ownerKey(login)];
}

export function viewer(state: EmulatorState): OwnerRecord {
  const v = findOwner(state, VIEWER_LOGIN);
  if (!v) throw new Error("emulator state has no viewer user");
  return v;
}

export function getRepo(state: EmulatorState, owner: string, name: string): RepoRecord {
  const repo = state.repos[repoKey(owner, name)];
  if (!repo) throw notFound();
  return repo;
}

export interface CreateRepoInput {
  owner: unknown;
  name: unknown;
  default_branch?: unknown;
  private?: unknown;
  archived?: unknown;
  owner_type?: unknown;
}

function ensureOwner(store: EmulatorStore, login: string, type: OwnerType | undefined): OwnerRecord {
  const state = store.state;
  const existing = findOwner(state, login);
  if (existing) {
    if (type && existing.type !== type) {
      throw validationFailed({ resource: "Repository", code: "invalid", field: "owner_type", message: `${login} is a ${existing.type}` });
    }
    return existing;
  }
  const ownerType = type ?? "User";
  const created: OwnerRecord = {
    login,
    id: store.nextDatabaseId(),
    nodeId: newNodeId(ownerType),
    type: ownerType,
    createdAt: timestamp(),
    nextProjectNumber: 1,
  };
  state.owners[ownerKey(login)] = created;
  return created;
}

/** Backs `POST /_emulator/repos`; call inside `store.mutate`. */
export function createRepo(store: EmulatorStore, input: CreateRepoInput): RepoRecord {
  const { owner, name } = input;
  if (!accepted(validateOwner, owner)) {
    throw validationFailed({ resource: "Repository", code: "invalid", field: "owner" });
  }
  if (!accepted(validateRepo, name)) {
    throw validationFailed({ resource: "Repository", code: "invalid", field: "name" });
  }
  const defaultBranch = input.default_branch ?? "main";
  if (typeof defaultBranch !== "string" || !/^[A-Za-z0-9._/-]+$/.test(defaultBranch)) {
    throw validationFailed({ resource: "Repository", code: "invalid", field: "default_branch" });
  }
  if (input.private !== undefined && typeof input.private !== "boolean") {
    throw validationFailed({ resource: "Repository", code: "invalid", field: "private" });
  }
  if (input.archived !== undefined && typeof input.archived !== "boolean") {
    throw validationFailed({ resource: "Repository", code: "invalid", field: "archived" });
  }
  const ownerType = input.owner_type;
  if (ownerType !== undefined && ownerType !== "User" && ownerType !== "Organization") {
    throw validationFailed({ resource: "Repository", code: "invalid", field: "owner_type" });
  }
  const ownerRecord = ensureOwner(store, owner, ownerType);
  if (store.state.repos[repoKey(owner, name)]) {
    throw validationFailed({ resource: "Repository", code: "custom", field: "name", message: "name already exists on this account" });
  }
  const now = timestamp();
  const repo: RepoRecord = {
    id: store.nextDatabaseId(),
    nodeId: newNodeId("Repository"),
    owner: ownerRecord.login,
    name,
    private: input.private ?? false,
    archived: input.archived ?? false,
    defaultBranch,
    createdAt: now,
    updatedAt: now,
    pushedAt: now,
    hooks: [],
    git: { blobs: {}, commits: {}, branches: {} },
  };
  store.state.repos[repoKey(owner, name)] = repo;
  return repo;
}

export function simpleUserJson(owner: OwnerRecord, api: string): Record<string, unknown> {
  const u = `${api}/users/${owner.login}`;
  return {
    login: owner.login,
    id: owner.id,
    node_id: owner.nodeId,
    avatar_url: `https://avatars.githubusercontent.com/u/${owner.id}?v=4`,
    gravatar_id: "",
    url: u,
    html_url: `${HTML_BASE}/${owner.login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: owner.type,
    user_view_type: "public",
    site_admin: false,
  };
}

/** `GET /user` answers with the private view of the authenticated user. */
export function privateUserJson(state: EmulatorState, api: string): Record<string, unknown> {
  const me = viewer(state);
  const mine = Object.values(state.repos).filter((r) => ownerKey(r.owner) === ownerKey(me.login));
  return {
    ...simpleUserJson(me, api),
    user_view_type: "private",
    name: "mesh-six bot",
    company: null,
    blog: "",
    location: null,
    email: null,
    notification_email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: mine.filter((r) => !r.private).length,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: me.createdAt,
    updated_at: me.createdAt,
    private_gists: 0,
    total_private_repos: mine.filter((r) => r.private).length,
    owned_private_repos: mine.filter((r) => r.private).length,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
    plan: { name: "free", space: 976562499, collaborators: 0, private_repos: 10000 },
  };
}

function repoSizeKb(repo: RepoRecord): number {
  const head = repo.git.branches[repo.defaultBranch];
  if (!head) return 0;
  const tree = repo.git.commits[head].tree;
  const bytes = Object.values(tree).reduce((sum, sha) => sum + Buffer.from(repo.git.blobs[sha], "base64").length, 0);
  return Math.ceil(bytes / 1024);
}

/** The `full-repository` shape of `GET /repos/{owner}/{repo}`; `permissions` are the calling token's. */
export function repoJson(
  state: EmulatorState,
  repo: RepoRecord,
  api: string,
  permissions: RepoPermissions = FULL_PERMISSIONS,
): Record<string, unknown> {
  const owner = findOwner(state, repo.owner);
  if (!owner) throw new Error(`repository ${repo.owner}/${repo.name} has no owner record`);
  const full = `${repo.owner}/${repo.name}`;
  const u = `${api}/repos/${full}`;
  const html = `${HTML_BASE}/${full}`;
  const ownerJson = simpleUserJson(owner, api);
  return {
    id: repo.id,
    node_id: repo.nodeId,
    name: repo.name,
    full_name: full,
    owner: ownerJson,
    private: repo.private,
    visibility: repo.private ? "private" : "public",
    html_url: html,
    description: null,
    fork: false,
    url: u,
    archive_url: `${u}/{archive_format}{/ref}`,
    assignees_url: `${u}/assignees{/user}`,
    blobs_url: `${u}/git/blobs{/sha}`,
    branches_url: `${u}/branches{/branch}`,
    collaborators_url: `${u}/collaborators{/collaborator}`,
    comments_url: `${u}/comments{/number}`,
    commits_url: `${u}/commits{/sha}`,
    compare_url: `${u}/compare/{base}...{head}`,
    contents_url: `${u}/contents/{+path}`,
    contributors_url: `${u}/contributors`,
    deployments_url: `${u}/deployments`,
    downloads_url: `${u}/downloads`,
    events_url: `${u}/events`,
    forks_url: `${u}/forks`,
    git_commits_url: `${u}/git/commits{/sha}`,
    git_refs_url: `${u}/git/refs{/sha}`,
    git_tags_url: `${u}/git/tags{/sha}`,
    git_url: `git://github.com/${full}.git`,
    hooks_url: `${u}/hooks`,
    issue_comment_url: `${u}/issues/comments{/number}`,
    issue_events_url: `${u}/issues/events{/number}`,
    issues_url: `${u}/issues{/number}`,
    keys_url: `${u}/keys{/key_id}`,
    labels_url: `${u}/labels{/name}`,
    languages_url: `${u}/languages`,
    merges_url: `${u}/merges`,
    milestones_url: `${u}/milestones{/number}`,
    notifications_url: `${u}/notifications{?since,all,participating}`,
    pulls_url: `${u}/pulls{/number}`,
    releases_url: `${u}/releases{/id}`,
    ssh_url: `git@github.com:${full}.git`,
    stargazers_url: `${u}/stargazers`,
    statuses_url: `${u}/statuses/{sha}`,
    subscribers_url: `${u}/subscribers`,
    subscription_url: `${u}/subscription`,
    tags_url: `${u}/tags`,
    teams_url: `${u}/teams`,
    trees_url: `${u}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    svn_url: html,
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    subscribers_count: 0,
    network_count: 0,
    size: repoSizeKb(repo),
    default_branch: repo.defaultBranch,
    open_issues_count: 0,
    open_issues: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: repo.archived ?? false,
    disabled: false,
    pushed_at: repo.pushedAt,
    created_at: repo.createdAt,
    updated_at: repo.updatedAt,
    permissions: { ...permissions },
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_forking: true,
    web_commit_signoff_required: false,
    license: null,
    ...(owner.type === "Organization" ? { organization: ownerJson } : {}),
  };
}
