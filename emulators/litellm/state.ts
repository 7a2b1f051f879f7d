// The emulator's state: teams and virtual keys as LiteLLM's proxy keeps them in its database
// (LiteLLM_TeamTable and LiteLLM_VerificationToken), kept in memory and optionally mirrored to a JSON file.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";

export interface TeamRow {
  team_id: string;
  team_alias: string | null;
  models: string[];
  max_budget: number | null;
  spend: number;
  metadata: Record<string, unknown>;
  blocked: boolean;
  created_at: string;
  updated_at: string;
}

export interface KeyRow {
  /** sha256 of the key: what LiteLLM stores and calls the key's `token`. */
  token: string;
  /** The key itself, kept only so the state can be dumped masked; LiteLLM keeps only the hash. */
  key: string;
  key_alias: string | null;
  key_name: string;
  team_id: string | null;
  models: string[];
  max_budget: number | null;
  spend: number;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

interface Snapshot {
  teams: TeamRow[];
  keys: KeyRow[];
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** LiteLLM shows a key as `sk-...` and its last four characters. */
export function abbreviate(key: string): string {
  return `sk-...${key.slice(-4)}`;
}

export class LiteLLMStore {
  readonly teams = new Map<string, TeamRow>();
  /** By token (the hash). */
  readonly keys = new Map<string, KeyRow>();

  constructor(private readonly stateFile?: string) {
    if (!stateFile) return;
    let snapshot: Snapshot | undefined;
    try {
      snapshot = JSON.parse(readFileSync(stateFile, "utf8")) as Snapshot;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const t of snapshot?.teams ?? []) this.teams.set(t.team_id, t);
    for (const k of snapshot?.keys ?? []) this.keys.set(k.token, k);
  }

  save(): void {
    if (!this.stateFile) return;
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ teams: [...this.teams.values()], keys: [...this.keys.values()] }), { mode: 0o600 });
    renameSync(tmp, this.stateFile);
  }

  newTeam(fields: Omit<TeamRow, "team_id" | "spend" | "created_at" | "updated_at"> & { team_id?: string }): TeamRow {
    const now = new Date().toISOString();
    const team: TeamRow = { ...fields, team_id: fields.team_id ?? randomUUID(), spend: 0, created_at: now, updated_at: now };
    this.teams.set(team.team_id, team);
    return team;
  }

  newKey(fields: Omit<KeyRow, "token" | "key" | "key_name" | "spend" | "created_at" | "updated_at">): KeyRow {
    // LiteLLM's keys are "sk-" and a url-safe random string.
    const key = `sk-${randomBytes(16).toString("base64url")}`;
    const now = new Date().toISOString();
    const row: KeyRow = { ...fields, key, token: hashKey(key), key_name: abbreviate(key), spend: 0, created_at: now, updated_at: now };
    this.keys.set(row.token, row);
    return row;
  }

  /** A key by the key itself or by its token, as LiteLLM accepts either. */
  findKey(keyOrToken: string): KeyRow | undefined {
    return this.keys.get(keyOrToken) ?? this.keys.get(hashKey(keyOrToken));
  }

  keysOfTeam(teamId: string): KeyRow[] {
    return [...this.keys.values()].filter((k) => k.team_id === teamId);
  }

  /** Everything, with each key shown only by its last four characters (for test reports and /_emulator/state). */
  masked(): { teams: TeamRow[]; keys: (Omit<KeyRow, "key" | "token"> & { key: string; token: string })[] } {
    return {
      teams: [...this.teams.values()],
      keys: [...this.keys.values()].map((k) => ({ ...k, key: `****${k.key.slice(-4)}`, token: `****${k.token.slice(-4)}` })),
    };
  }
}
