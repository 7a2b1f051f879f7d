// The tokens the emulator accepts and what each may do. The token it was started with is a classic
// personal access token with every scope the project needs; tests register others (fewer scopes, a
// fine-grained token, less access to repositories) to see how the code copes with what GitHub would say.
import { createHash } from "node:crypto";
import { validationFailed } from "./errors";

/** The repository role GitHub reports in a repository's `permissions`. */
export interface RepoPermissions {
  admin: boolean;
  maintain: boolean;
  push: boolean;
  triage: boolean;
  pull: boolean;
}

export interface TokenRecord {
  /** A classic token's OAuth scopes (sent as `x-oauth-scopes`); null for a fine-grained token, which has none. */
  scopes: string[] | null;
  permissions: RepoPermissions;
}

export const FULL_PERMISSIONS: RepoPermissions = { admin: true, maintain: true, push: true, triage: true, pull: true };
export const DEFAULT_SCOPES = ["admin:repo_hook", "project", "repo"];

/** Tokens are kept by digest: a state dump must not hand out credentials. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

const ROLES = Object.keys(FULL_PERMISSIONS) as (keyof RepoPermissions)[];

/** Backs `POST /_emulator/tokens`: `{ token, scopes?: string[] | null, permissions?: Partial<RepoPermissions> }`. */
export function parseTokenRegistration(body: unknown): { token: string; record: TokenRecord } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.token !== "string" || b.token.length < 8) {
    throw validationFailed({
      resource: "Token",
      code: "invalid",
      field: "token",
      message: "token must be a string of 8 characters or more",
    });
  }
  const scopes = b.scopes === undefined ? DEFAULT_SCOPES : b.scopes;
  if (scopes !== null && !(Array.isArray(scopes) && scopes.every((s) => typeof s === "string"))) {
    throw validationFailed({ resource: "Token", code: "invalid", field: "scopes", message: "scopes must be a list of strings or null" });
  }
  const given = (b.permissions ?? {}) as Record<string, unknown>;
  if (typeof given !== "object" || ROLES.some((k) => given[k] !== undefined && typeof given[k] !== "boolean")) {
    throw validationFailed({ resource: "Token", code: "invalid", field: "permissions" });
  }
  const permissions = Object.fromEntries(ROLES.map((k) => [k, (given[k] as boolean | undefined) ?? true])) as unknown as RepoPermissions;
  return { token: b.token, record: { scopes: scopes === null ? null : [...scopes].sort(), permissions } };
}
