import { createHash, randomBytes } from "node:crypto";
import type { Pool } from "pg";
import type { Role } from "../domain/roles";

/**
 * API tokens issued through the API. Only the SHA-256 of a token is stored. A slow password hash (bcrypt,
 * argon2) protects guessable secrets by making each guess expensive; these tokens are 256 random bits, which no
 * number of guesses finds, so a fast hash loses nothing — and it lets a request be authenticated by one indexed
 * lookup instead of a deliberately slow hash per request.
 */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  agentId: string | null;
  createdAt: Date;
  createdBy: string | null;
  revokedAt: Date | null;
}

const TOKEN_PREFIX = "m6_";

export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

type Row = {
  id: string;
  name: string;
  role: Role;
  agent_id: string | null;
  created_at: Date;
  created_by: string | null;
  revoked_at: Date | null;
  token_hash: Buffer;
};

const COLUMNS = "id, name, role, agent_id, created_at, created_by, revoked_at, token_hash";

function toToken(row: Row): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    agentId: row.agent_id,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
  };
}

/** Stores a new token; its text is returned here and nowhere else. */
export async function issueToken(
  pool: Pool,
  spec: { name: string; role: Role; agentId?: string | null; createdBy: string },
): Promise<{ token: string; record: ApiToken }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  const { rows } = await pool.query<Row>(
    `INSERT INTO api_tokens (name, role, agent_id, token_hash, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [spec.name, spec.role, spec.agentId ?? null, tokenDigest(token), spec.createdBy],
  );
  return { token, record: toToken(rows[0]) };
}

/** The unrevoked token with this digest, with its stored digest for the caller's constant-time comparison. */
export async function findActiveToken(pool: Pool, digest: Buffer): Promise<{ record: ApiToken; digest: Buffer } | undefined> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [digest]);
  return rows[0] ? { record: toToken(rows[0]), digest: rows[0].token_hash } : undefined;
}

export async function listTokens(pool: Pool): Promise<ApiToken[]> {
  const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, id`);
  return rows.map(toToken);
}

/** Revokes the token (a second revocation keeps the first's time); false when there is no such token. */
export async function revokeToken(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", [id]);
  return (rowCount ?? 0) > 0;
}
