// `GET /repos/{owner}/{repo}/branches/{branch}`: the `branch-with-protection` shape. Branches are never
// protected here; an empty repository has no branches at all, so its default branch is "not found".
import { notFound } from "./errors";
import { HTML_BASE } from "./repos";
import type { RepoRecord } from "./state";

export function branchJson(repo: RepoRecord, branch: string, api: string): Record<string, unknown> {
  const sha = repo.git.branches[branch];
  if (!sha) throw notFound("Branch not found");
  const commit = repo.git.commits[sha];
  const base = `${api}/repos/${repo.owner}/${repo.name}`;
  const html = `${HTML_BASE}/${repo.owner}/${repo.name}`;
  return {
    name: branch,
    commit: {
      sha,
      node_id: `C_kwDO${Buffer.from(sha, "hex").toString("base64url")}`,
      url: `${base}/commits/${sha}`,
      html_url: `${html}/commit/${sha}`,
      comments_url: `${base}/commits/${sha}/comments`,
      commit: {
        url: `${base}/git/commits/${sha}`,
        author: commit.author,
        committer: commit.committer,
        message: commit.message,
        tree: { sha: commit.treeSha, url: `${base}/git/trees/${commit.treeSha}` },
        comment_count: 0,
        verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
      },
      // The commits are the emulator's bot's, which GitHub would link to its user; null is what it says for an unknown e-mail.
      author: null,
      committer: null,
      parents: commit.parents.map((p) => ({ sha: p, url: `${base}/commits/${p}`, html_url: `${html}/commit/${p}` })),
    },
    _links: { self: `${base}/branches/${encodeURIComponent(branch)}`, html: `${html}/tree/${encodeURIComponent(branch)}` },
    protected: false,
    protection: { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [], checks: [] } },
    protection_url: `${base}/branches/${encodeURIComponent(branch)}/protection`,
  };
}
