/**
 * A stateful emulator of exactly the LiteLLM proxy admin endpoints the LiteLLM team provider calls
 * (providers/litellm-api.ts). LiteLLM is Python and not installable here; the shapes follow LiteLLM's own docs
 * and the docstrings of its management endpoints:
 *  - auth: the master key as `Authorization: Bearer sk-...` (docs/proxy/virtual_keys.md, "Set a master key ...
 *    must start with sk-"); a wrong or missing key gets 401 with LiteLLM's ProxyException body
 *    `{"error": {"message", "type": "auth_error", "param", "code": "401"}}`;
 *  - POST /team/new {team_alias, team_id?, models, max_budget, metadata} → the team row (team_id, team_alias,
 *    models, max_budget, spend, metadata, blocked) (docs/proxy/team_budgets.md, team_endpoints.py `new_team`);
 *  - POST /team/update {team_id, …fields to change} → {team_id, data: team} (team_endpoints.py `update_team`);
 *  - GET /team/info?team_id= → {team_id, team_info, keys, team_memberships} (`team_info`);
 *  - GET /team/list → the teams (`list_team`);
 *  - POST /team/delete {team_ids: [..]} → deletes the teams and their keys; any unknown id refuses all with 404
 *    (`delete_team`: "Team not found, passed team_id=");
 *  - POST /key/generate {team_id, models, key_alias, max_budget, metadata} → GenerateKeyResponse {key, token,
 *    key_name, key_alias, team_id, models, max_budget, metadata, expires} where token is the key's sha256
 *    (docs/proxy/virtual_keys.md "/key/generate", key_management_endpoints.py); key aliases are unique
 *    (`_enforce_unique_key_alias`);
 *  - GET /key/info?key= (the key or its token) → {key: token, info} (`info_key_fn`), 404 when unknown;
 *  - POST /key/delete {keys: [..]} (keys or tokens) → {deleted_keys}; 404 when one is unknown (`delete_key_fn`);
 *  - POST /key/{key}/regenerate {…} → GenerateKeyResponse of a new key replacing the old one at once
 *    (docs/proxy/virtual_keys.md "Key Rotations": no grace_period means immediate revoke).
 * Plus GET /_emulator/state (the emulator's own, master key required): teams and keys, keys masked to their
 * last four characters.
 */
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { type KeyRow, LiteLLMStore, type TeamRow } from "./state";

export interface LiteLLMEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The proxy's master key; LiteLLM requires it to start with sk-. */
  masterKey: string;
  /** Loaded at start when present; rewritten after every change. */
  stateFile?: string;
}

export interface LiteLLMEmulator {
  url: string;
  state: LiteLLMStore;
  close(): Promise<void>;
}

class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param = "None",
  ) {
    super(message);
  }
}

function errorBody(err: ProxyError) {
  return { error: { message: err.message, type: err.type, param: err.param, code: String(err.status) } };
}

/** A key's row as LiteLLM returns it: the hash as `token`, never the key itself. */
function keyInfo(row: KeyRow) {
  const { key: _key, ...rest } = row;
  return { ...rest, expires: null };
}

function generated(row: KeyRow) {
  return { ...keyInfo(row), key: row.key, token_id: row.token };
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new ProxyError(400, `${field} must be a string`, "invalid_request_error", field);
  return v;
}

function optionalModels(body: Record<string, unknown>): string[] | undefined {
  const v = body.models;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((m) => typeof m !== "string"))
    throw new ProxyError(400, "models must be a list of strings", "invalid_request_error", "models");
  return v as string[];
}

function optionalBudget(body: Record<string, unknown>): number | null | undefined {
  const v = body.max_budget;
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new ProxyError(400, "max_budget must be a number", "invalid_request_error", "max_budget");
  return v;
}

function optionalMetadata(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const v = body.metadata;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw new ProxyError(400, "metadata must be an object", "invalid_request_error", "metadata");
  return v as Record<string, unknown>;
}

function stringList(body: Record<string, unknown>, field: string): string[] {
  const v = body[field];
  if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== "string"))
    throw new ProxyError(400, `${field} must be a non-empty list of strings`, "invalid_request_error", field);
  return v as string[];
}

export function createApp(store: LiteLLMStore, masterKey: string): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const header = req.get("authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    if (given !== masterKey) {
      next(new ProxyError(401, "Authentication Error, Invalid proxy server token passed.", "auth_error"));
      return;
    }
    next();
  });
  app.use(express.json({ type: () => true }));
  const body = (req: Request) => (req.body && typeof req.body === "object" ? (req.body as Record<string, unknown>) : {});
  const changed = () => store.save();

  app.get("/_emulator/state", (_req, res) => {
    res.json(store.masked());
  });

  app.post("/team/new", (req, res) => {
    const b = body(req);
    const teamId = optionalString(b, "team_id");
    const alias = optionalString(b, "team_alias") ?? null;
    if (teamId !== undefined && store.teams.has(teamId))
      throw new ProxyError(400, `Team id = ${teamId} already exists. Please use a different team id.`);
    uniqueTeamAlias(alias ?? undefined);
    const team = store.newTeam({
      team_id: teamId,
      team_alias: alias,
      models: optionalModels(b) ?? [],
      max_budget: optionalBudget(b) ?? null,
      metadata: optionalMetadata(b) ?? {},
      blocked: b.blocked === true,
    });
    changed();
    res.json(team);
  });

  app.post("/team/update", (req, res) => {
    const b = body(req);
    const team = requireTeam(optionalString(b, "team_id"), 400);
    const alias = optionalString(b, "team_alias");
    uniqueTeamAlias(alias, team.team_id);
    const models = optionalModels(b);
    const budget = optionalBudget(b);
    const metadata = optionalMetadata(b);
    // Only the fields sent change, as LiteLLM's update_team merges the request into the row.
    const updated: TeamRow = {
      ...team,
      ...(alias !== undefined ? { team_alias: alias } : {}),
      ...(models !== undefined ? { models } : {}),
      ...(budget !== undefined ? { max_budget: budget } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
      updated_at: new Date().toISOString(),
    };
    store.teams.set(team.team_id, updated);
    changed();
    res.json({ team_id: team.team_id, data: updated });
  });

  app.get("/team/info", (req, res) => {
    const team = requireTeam(typeof req.query.team_id === "string" ? req.query.team_id : undefined, 404);
    res.json({ team_id: team.team_id, team_info: team, keys: store.keysOfTeam(team.team_id).map(keyInfo), team_memberships: [] });
  });

  app.get("/team/list", (_req, res) => {
    res.json([...store.teams.values()]);
  });

  app.post("/team/delete", (req, res) => {
    const ids = stringList(body(req), "team_ids");
    for (const id of ids) requireTeam(id, 404);
    for (const id of ids) {
      for (const key of store.keysOfTeam(id)) store.keys.delete(key.token);
      store.teams.delete(id);
    }
    changed();
    res.json({ deleted_teams: ids });
  });

  app.post("/key/generate", (req, res) => {
    const b = body(req);
    const teamId = optionalString(b, "team_id") ?? null;
    if (teamId !== null && !store.teams.has(teamId))
      throw new ProxyError(400, `Team not found, passed team_id=${teamId}`, "invalid_request_error", "team_id");
    const alias = optionalString(b, "key_alias") ?? null;
    uniqueAlias(alias);
    const row = store.newKey({
      key_alias: alias,
      team_id: teamId,
      models: optionalModels(b) ?? [],
      max_budget: optionalBudget(b) ?? null,
      metadata: optionalMetadata(b) ?? {},
    });
    changed();
    res.json(generated(row));
  });

  app.get("/key/info", (req, res) => {
    const given = typeof req.query.key === "string" ? req.query.key : "";
    const row = store.findKey(given);
    if (!row) throw new ProxyError(404, "Key not found in database", "not_found_error", "key");
    res.json({ key: row.token, info: keyInfo(row) });
  });

  app.post("/key/delete", (req, res) => {
    const given = stringList(body(req), "keys");
    const rows = given.map((k) => store.findKey(k));
    if (rows.some((r) => r === undefined))
      throw new ProxyError(
        404,
        `Failed to delete all keys. Keys passed in request: ${given.length}. Keys found: ${rows.filter(Boolean).length}`,
        "not_found_error",
        "keys",
      );
    for (const row of rows) store.keys.delete(row!.token);
    changed();
    res.json({ deleted_keys: given });
  });

  app.post("/key/:key/regenerate", (req, res) => {
    const old = store.findKey(String(req.params.key));
    if (!old) throw new ProxyError(404, "Key not found", "not_found_error", "key");
    const b = body(req);
    store.keys.delete(old.token);
    const row = store.newKey({
      key_alias: old.key_alias,
      team_id: old.team_id,
      models: optionalModels(b) ?? old.models,
      max_budget: optionalBudget(b) ?? old.max_budget,
      metadata: optionalMetadata(b) ?? old.metadata,
    });
    changed();
    res.json(generated(row));
  });

  app.use((_req: Request, _res: Response, next: NextFunction) => next(new ProxyError(404, "Not Found", "not_found_error")));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ProxyError) {
      res.status(err.status).json(errorBody(err));
      return;
    }
    if ((err as { type?: string }).type === "entity.parse.failed") {
      res.status(400).json(errorBody(new ProxyError(400, "Invalid JSON payload")));
      return;
    }
    console.error("litellm-emulator: unexpected error", err);
    res.status(500).json(errorBody(new ProxyError(500, "Internal Server Error", "internal_server_error")));
  });
  return app;

  function requireTeam(teamId: string | undefined, status: number): TeamRow {
    const team = teamId === undefined ? undefined : store.teams.get(teamId);
    if (!team) throw new ProxyError(status, `Team not found, passed team_id=${teamId}`, "not_found_error", "team_id");
    return team;
  }

  function uniqueTeamAlias(alias: string | undefined, exceptTeamId?: string): void {
    if (alias !== undefined && [...store.teams.values()].some((t) => t.team_alias === alias && t.team_id !== exceptTeamId))
      throw new ProxyError(
        400,
        `Team alias = ${alias} already exists. Please use a different team alias.`,
        "invalid_request_error",
        "team_alias",
      );
  }

  function uniqueAlias(alias: string | null): void {
    if (alias !== null && [...store.keys.values()].some((k) => k.key_alias === alias))
      throw new ProxyError(
        400,
        `Unique key aliases across all keys are required. Key alias=${alias} already exists.`,
        "invalid_request_error",
        "key_alias",
      );
  }
}

export async function startLiteLLMEmulator(options: LiteLLMEmulatorOptions): Promise<LiteLLMEmulator> {
  if (!options.masterKey.startsWith("sk-")) throw new Error("the LiteLLM master key must start with sk-");
  const store = new LiteLLMStore(options.stateFile);
  const app = createApp(store, options.masterKey);
  const server = await new Promise<import("node:http").Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 0, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state: store,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
