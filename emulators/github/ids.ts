// Identifiers shaped like GitHub's, so that code which inspects them (prefix checks, logging) behaves
// the same against the emulator as against github.com.
import { createHash, randomBytes } from "node:crypto";

export type NodeKind =
  "User" | "Organization" | "Repository" | "Issue" | "ProjectV2" | "ProjectV2Field" | "ProjectV2SingleSelectField" | "ProjectV2Item";

const PREFIX: Record<NodeKind, string> = {
  User: "U_kgDO",
  Organization: "O_kgDO",
  Repository: "R_kgDO",
  Issue: "I_kwDO",
  ProjectV2: "PVT_kwDO",
  ProjectV2Field: "PVTF_lADO",
  ProjectV2SingleSelectField: "PVTSSF_lADO",
  ProjectV2Item: "PVTI_lADO",
};

/**
 * Random rather than derived from a counter: an id remembered from before a reset (in a Pulumi
 * state file, say) must resolve to nothing, not to whatever was created next.
 */
export function newNodeId(kind: NodeKind): string {
  return PREFIX[kind] + randomBytes(9).toString("base64url");
}

/** Option ids on GitHub are short hex strings, unique within their field. */
export function newOptionId(): string {
  return randomBytes(4).toString("hex");
}

function sha1(text: string | Buffer): string {
  return createHash("sha1").update(text).digest("hex");
}

/** The sha git itself gives a blob, which is what GitHub reports as a file's `sha`. */
export function gitBlobSha(content: Buffer): string {
  return sha1(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
}

export function treeSha(tree: Record<string, string>): string {
  const entries = Object.keys(tree)
    .sort()
    .map((p) => `${p}\0${tree[p]}`);
  return sha1(`tree\n${entries.join("\n")}`);
}

export function commitSha(parts: { treeSha: string; parents: string[]; message: string; date: string; name: string }): string {
  const parents = parts.parents.map((p) => `parent ${p}\n`).join("");
  return sha1(`commit\ntree ${parts.treeSha}\n${parents}author ${parts.name} ${parts.date}\n\n${parts.message}`);
}
