/**
 * `changes` laid over `base` as JSON Merge Patch does (RFC 7396) without its null: objects are merged key by key at
 * every depth, anything else (a string, a number, an array) replaces what was there. A preview of
 * `{ resources: { limits: { memory: "8Gi" } } }` thus keeps the applied CPU limit beside the new memory limit.
 */
export function mergeSettings<T extends object>(base: T, changes: object): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(changes)) {
    const was = out[key];
    out[key] = isPlainObject(value) && isPlainObject(was) ? mergeSettings(was, value) : value;
  }
  return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
