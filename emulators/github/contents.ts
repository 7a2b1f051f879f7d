// The contents API over a minimal git model: content-addressed blobs, commits holding a flat
// snapshot of their tree, and branches pointing at commits. Enough for `?ref=` to mean something
// and for blob shas to match what real git (and so GitHub) would report.
import { conflict, notFound, unprocessable } from "./errors";
import { commitSha, gitBlobSha, treeSha } from "./ids";
import { HTML_BASE, viewer } from "./repos";
import { CommitRecord, EmulatorState, RepoRecord, Signature, timestamp } from "./state";

type Body = Record<string, unknown>;

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function missing(param: string) {
  return unprocessable(`Invalid request.\n\n"${param}" wasn't supplied.`, { resource: "Contents", code: "missing_field", field: param });
}

/** Route paths arrive as segments (or one %2F-joined segment); reject anything git could not store. */
export function normalisePath(raw: string): string {
  const segments = raw.split("/").filter((s, i, all) => !(s === "" && (i === 0 || i === all.length - 1)));
  if (segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\0"))) {
    throw unprocessable("path is not a valid file path", { resource: "Contents", code: "invalid", field: "path" });
  }
  return segments.join("/");
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

interface ResolvedRef {
  ref: string;
  commit: CommitRecord | undefined;
}

function resolveRef(repo: RepoRecord, ref: string | undefined): ResolvedRef {
  const name = ref ?? repo.defaultBranch;
  const branchHead = repo.git.branches[name];
  if (branchHead) return { ref: name, commit: repo.git.commits[branchHead] };
  if (Object.keys(repo.git.branches).length === 0) throw notFound("This repository is empty.");
  const bySha = /^[0-9a-f]{7,40}$/.test(name) ? Object.values(repo.git.commits).filter((c) => c.sha.startsWith(name)) : [];
  if (bySha.length === 1) return { ref: name, commit: bySha[0] };
  throw notFound(`No commit found for the ref ${name}`);
}

/** The links of a file or directory at `path` (object `sha`) as of `ref`. */
function fileLinks(repo: RepoRecord, api: string, entry: { path: string; sha: string; ref: string; type: "file" | "dir" }) {
  const { path, sha, ref, type } = entry;
  const base = `${api}/repos/${repo.owner}/${repo.name}`;
  const self = `${base}/contents/${encodePath(path)}?ref=${encodeURIComponent(ref)}`;
  const git = `${base}/git/${type === "file" ? "blobs" : "trees"}/${sha}`;
  const html = `${HTML_BASE}/${repo.owner}/${repo.name}/${type === "file" ? "blob" : "tree"}/${encodeURIComponent(ref)}/${encodePath(path)}`;
  return {
    url: self,
    html_url: html,
    git_url: git,
    download_url:
      type === "file"
        ? `https://raw.githubusercontent.com/${repo.owner}/${repo.name}/${encodeURIComponent(ref)}/${encodePath(path)}`
        : null,
    _links: { self, git, html },
  };
}

function blobBytes(repo: RepoRecord, sha: string): Buffer {
  return Buffer.from(repo.git.blobs[sha], "base64");
}

/** GitHub wraps the base64 it returns at 60 characters per line. */
function wrapBase64(b64: string): string {
  return (b64.match(/.{1,60}/g) ?? []).map((line) => `${line}\n`).join("");
}

/** `GET /repos/{owner}/{repo}/contents/{path}`: a `content-file` object, or a `content-directory` array. */
export function getContentJson(repo: RepoRecord, path: string, ref: string | undefined, api: string): unknown {
  const resolved = resolveRef(repo, ref);
  const tree = resolved.commit?.tree ?? {};
  const blob = tree[path];
  if (blob !== undefined) {
    const bytes = blobBytes(repo, blob);
    return {
      type: "file",
      encoding: "base64",
      size: bytes.length,
      name: path.split("/").pop(),
      path,
      content: wrapBase64(repo.git.blobs[blob]),
      sha: blob,
      ...fileLinks(repo, api, { path, sha: blob, ref: resolved.ref, type: "file" }),
    };
  }
  const prefix = path === "" ? "" : `${path}/`;
  const below = Object.keys(tree).filter((p) => p.startsWith(prefix));
  if (below.length === 0 && path !== "") throw notFound();
  const children = new Map<string, "file" | "dir">();
  for (const p of below) {
    const rest = p.slice(prefix.length);
    const slash = rest.indexOf("/");
    children.set(slash === -1 ? rest : rest.slice(0, slash), slash === -1 ? "file" : "dir");
  }
  return [...children.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, type]) => {
      const childPath = prefix + name;
      const sha = type === "file" ? tree[childPath] : subtreeSha(tree, childPath);
      const size = type === "file" ? blobBytes(repo, sha).length : 0;
      return { type, size, name, path: childPath, sha, ...fileLinks(repo, api, { path: childPath, sha, ref: resolved.ref, type }) };
    });
}

function subtreeSha(tree: Record<string, string>, dir: string): string {
  const prefix = `${dir}/`;
  return treeSha(Object.fromEntries(Object.entries(tree).filter(([p]) => p.startsWith(prefix))));
}

function parseSignature(v: unknown, field: string, fallback: Signature): Signature {
  if (v === undefined) return fallback;
  const s = v as Body;
  if (typeof s !== "object" || s === null || typeof s.name !== "string" || typeof s.email !== "string") {
    throw unprocessable(`Invalid request.\n\n"name" and "email" are required in "${field}".`, {
      resource: "Contents",
      code: "invalid",
      field,
    });
  }
  return { name: s.name, email: s.email, date: typeof s.date === "string" ? s.date : fallback.date };
}

interface Target {
  branch: string;
  head: CommitRecord | undefined;
  tree: Record<string, string>;
}

function targetBranch(repo: RepoRecord, branchParam: unknown): Target {
  if (branchParam !== undefined && typeof branchParam !== "string") {
    throw unprocessable("branch is not a string", { resource: "Contents", code: "invalid", field: "branch" });
  }
  const branch = branchParam ?? repo.defaultBranch;
  const headSha = repo.git.branches[branch];
  // The first commit to an empty repository creates its default branch.
  const empty = Object.keys(repo.git.branches).length === 0;
  if (!headSha && !(empty && branch === repo.defaultBranch)) throw notFound(`Branch ${branch} not found`);
  const head = headSha ? repo.git.commits[headSha] : undefined;
  return { branch, head, tree: head?.tree ?? {} };
}

function commitTo(state: EmulatorState, repo: RepoRecord, target: Target, tree: Record<string, string>, body: Body): CommitRecord {
  const now = timestamp();
  const me = viewer(state);
  const bot = { name: me.login, email: `${me.id}+${me.login}@users.noreply.github.com`, date: now };
  const committer = parseSignature(body.committer, "committer", bot);
  const author = parseSignature(body.author, "author", committer);
  const tSha = treeSha(tree);
  const parents = target.head ? [target.head.sha] : [];
  const message = body.message as string;
  const sha = commitSha({ treeSha: tSha, parents, message, date: now, name: author.name });
  const commit: CommitRecord = { sha, treeSha: tSha, tree, parents, message, author, committer };
  repo.git.commits[sha] = commit;
  repo.git.branches[target.branch] = sha;
  repo.pushedAt = now;
  repo.updatedAt = now;
  return commit;
}

function requireMessage(body: Body): void {
  if (typeof body.message !== "string" || body.message === "") throw missing("message");
}

function assertShaMatches(path: string, current: string, given: unknown): void {
  if (given === undefined || given === null || given === "") throw missing("sha");
  if (given !== current) throw conflict(`${path} does not match ${String(given)}`);
}

export interface WriteResult {
  created: boolean;
  commit: CommitRecord;
  path: string;
  blobSha: string | null;
}

/** `PUT .../contents/{path}`: create (no sha) or update (the current blob sha required). */
export function putContent(state: EmulatorState, repo: RepoRecord, path: string, raw: unknown): WriteResult {
  const body = (raw ?? {}) as Body;
  requireMessage(body);
  if (typeof body.content !== "string") throw missing("content");
  const compact = body.content.replace(/\s+/g, "");
  if (!BASE64_RE.test(compact) || compact.length % 4 !== 0) {
    throw unprocessable("content is not valid Base64", { resource: "Contents", code: "invalid", field: "content" });
  }
  if (path === "") throw unprocessable("path cannot be empty", { resource: "Contents", code: "invalid", field: "path" });
  const target = targetBranch(repo, body.branch);
  const current = target.tree[path];
  if (current !== undefined) {
    assertShaMatches(path, current, body.sha);
  } else if (body.sha !== undefined && body.sha !== null && body.sha !== "") {
    // A sha names the version the client believes it is replacing; that version is gone.
    throw conflict(`${path} does not match ${String(body.sha)}`);
  }
  if (Object.keys(target.tree).some((p) => p.startsWith(`${path}/`))) {
    throw unprocessable(`${path} is a directory`, { resource: "Contents", code: "invalid", field: "path" });
  }
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join("/");
    if (target.tree[parent] !== undefined) {
      throw unprocessable(`${parent} is a file`, { resource: "Contents", code: "invalid", field: "path" });
    }
  }
  const bytes = Buffer.from(compact, "base64");
  const blobSha = gitBlobSha(bytes);
  repo.git.blobs[blobSha] = bytes.toString("base64");
  const commit = commitTo(state, repo, target, { ...target.tree, [path]: blobSha }, body);
  return { created: current === undefined, commit, path, blobSha };
}

/** `DELETE .../contents/{path}`: the current blob sha is required. */
export function deleteContent(state: EmulatorState, repo: RepoRecord, path: string, raw: unknown): WriteResult {
  const body = (raw ?? {}) as Body;
  requireMessage(body);
  const target = targetBranch(repo, body.branch);
  const current = target.tree[path];
  if (current === undefined) throw notFound();
  assertShaMatches(path, current, body.sha);
  const tree = { ...target.tree };
  delete tree[path];
  const commit = commitTo(state, repo, target, tree, body);
  return { created: false, commit, path, blobSha: null };
}

/** The `file-commit` shape both PUT and DELETE answer with (`content` is null after a delete). */
export function fileCommitJson(repo: RepoRecord, result: WriteResult, api: string): Record<string, unknown> {
  const base = `${api}/repos/${repo.owner}/${repo.name}`;
  const html = `${HTML_BASE}/${repo.owner}/${repo.name}`;
  const { commit } = result;
  const branch = Object.entries(repo.git.branches).find(([, sha]) => sha === commit.sha)?.[0] ?? commit.sha;
  const content =
    result.blobSha === null
      ? null
      : {
          name: result.path.split("/").pop(),
          path: result.path,
          sha: result.blobSha,
          size: blobBytes(repo, result.blobSha).length,
          type: "file",
          ...fileLinks(repo, api, { path: result.path, sha: result.blobSha, ref: branch, type: "file" }),
        };
  return {
    content,
    commit: {
      sha: commit.sha,
      node_id: `C_kwDO${Buffer.from(commit.sha, "hex").toString("base64url")}`,
      url: `${base}/git/commits/${commit.sha}`,
      html_url: `${html}/commit/${commit.sha}`,
      author: commit.author,
      committer: commit.committer,
      message: commit.message,
      tree: { url: `${base}/git/trees/${commit.treeSha}`, sha: commit.treeSha },
      parents: commit.parents.map((p) => ({ url: `${base}/git/commits/${p}`, html_url: `${html}/commit/${p}`, sha: p })),
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    },
  };
}
