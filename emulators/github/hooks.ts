// Repository webhooks. The secret is stored (integration tests compare it with Vault's copy through
// the control API) but, as on GitHub, never returned by the REST API.
import { notFound, validationFailed } from "./errors";
import { EmulatorStore, HookConfigRecord, HookRecord, RepoRecord, timestamp } from "./state";

const MASKED_SECRET = "********";

type Body = Record<string, unknown>;

function hookError(field: string, message?: string) {
  return validationFailed({ resource: "Hook", code: message ? "custom" : "invalid", field, ...(message ? { message } : {}) });
}

function isObject(v: unknown): v is Body {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseEvents(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((e) => typeof e !== "string" || e === "")) throw hookError(field);
  return [...new Set(v as string[])];
}

/** Builds a complete config; on GitHub a config sent to create or update replaces the old one whole. */
function parseConfig(v: unknown): HookConfigRecord {
  if (!isObject(v)) throw hookError("config", "Config must contain URL for webhooks");
  const { url, content_type, insecure_ssl, secret } = v;
  if (typeof url !== "string" || url === "") throw hookError("url", "Config must contain URL for webhooks");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw hookError("url", "url is not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw hookError("url", "url must use http or https");
  if (content_type !== undefined && content_type !== "json" && content_type !== "form") throw hookError("content_type");
  const ssl = insecure_ssl === undefined ? "0" : String(insecure_ssl);
  if (ssl !== "0" && ssl !== "1") throw hookError("insecure_ssl");
  if (secret !== undefined && secret !== null && typeof secret !== "string") throw hookError("secret");
  return {
    url,
    content_type: content_type ?? "form",
    insecure_ssl: ssl,
    ...(typeof secret === "string" && secret !== "" ? { secret } : {}),
  };
}

function assertUniqueUrl(repo: RepoRecord, url: string, self?: number): void {
  if (repo.hooks.some((h) => h.id !== self && h.config.url === url)) {
    throw validationFailed({ resource: "Hook", code: "custom", message: "Hook already exists on this repository" });
  }
}

export function findHook(repo: RepoRecord, hookId: string): HookRecord {
  const hook = /^\d+$/.test(hookId) ? repo.hooks.find((h) => h.id === Number(hookId)) : undefined;
  if (!hook) throw notFound();
  return hook;
}

export function createHook(store: EmulatorStore, repo: RepoRecord, body: unknown): HookRecord {
  if (!isObject(body)) throw hookError("config", "Config must contain URL for webhooks");
  if (body.name !== undefined && body.name !== "web") throw hookError("name");
  if (body.active !== undefined && typeof body.active !== "boolean") throw hookError("active");
  const config = parseConfig(body.config);
  const events = body.events === undefined ? ["push"] : parseEvents(body.events, "events");
  assertUniqueUrl(repo, config.url);
  const now = timestamp();
  const hook: HookRecord = {
    id: store.nextDatabaseId(),
    name: "web",
    active: (body.active as boolean | undefined) ?? true,
    events,
    config,
    createdAt: now,
    updatedAt: now,
  };
  repo.hooks.push(hook);
  return hook;
}

export function updateHook(repo: RepoRecord, hook: HookRecord, body: unknown): HookRecord {
  if (!isObject(body)) throw hookError("config");
  if (body.active !== undefined && typeof body.active !== "boolean") throw hookError("active");
  // Validate everything before touching the hook.
  const config = body.config === undefined ? undefined : parseConfig(body.config);
  let events = body.events === undefined ? hook.events : parseEvents(body.events, "events");
  if (body.add_events !== undefined) events = [...new Set([...events, ...parseEvents(body.add_events, "add_events")])];
  if (body.remove_events !== undefined) {
    const drop = new Set(parseEvents(body.remove_events, "remove_events"));
    events = events.filter((e) => !drop.has(e));
  }
  if (config) assertUniqueUrl(repo, config.url, hook.id);
  if (config) hook.config = config;
  hook.events = events;
  if (typeof body.active === "boolean") hook.active = body.active;
  hook.updatedAt = timestamp();
  return hook;
}

/** `PATCH .../hooks/{id}/config` merges, unlike the hook PATCH whose config replaces the old one. */
export function updateHookConfig(hook: HookRecord, body: unknown): HookRecord {
  if (!isObject(body)) throw hookError("config");
  hook.config = parseConfig({ ...hook.config, ...body });
  hook.updatedAt = timestamp();
  return hook;
}

export function deleteHook(repo: RepoRecord, hook: HookRecord): void {
  repo.hooks = repo.hooks.filter((h) => h.id !== hook.id);
}

export function hookConfigJson(hook: HookRecord): Record<string, unknown> {
  const { secret, ...visible } = hook.config;
  return { ...visible, ...(secret ? { secret: MASKED_SECRET } : {}) };
}

export function hookJson(repo: RepoRecord, hook: HookRecord, api: string): Record<string, unknown> {
  const u = `${api}/repos/${repo.owner}/${repo.name}/hooks/${hook.id}`;
  return {
    type: "Repository",
    id: hook.id,
    name: hook.name,
    active: hook.active,
    events: hook.events,
    config: hookConfigJson(hook),
    updated_at: hook.updatedAt,
    created_at: hook.createdAt,
    url: u,
    test_url: `${u}/test`,
    ping_url: `${u}/pings`,
    deliveries_url: `${u}/deliveries`,
    // The emulator never delivers, which GitHub reports for a fresh hook as "unused".
    last_response: { code: null, status: "unused", message: null },
  };
}
