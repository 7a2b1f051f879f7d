import type * as pulumi from "@pulumi/pulumi";

/**
 * What every dynamic provider's check() shares. It imports nothing at run time: each provider is serialized into the
 * dynamic-provider process with what its methods reference, and these helpers travel with it.
 */

type CheckFailure = pulumi.dynamic.CheckFailure;

/**
 * The engine hands check() this string for a value that is not known yet (a preview of something computed by a
 * resource not yet created); a value that is not known yet is judged by the update that knows it.
 */
export const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isKnown(value: unknown): boolean {
  return value !== UNKNOWN_DURING_PREVIEW;
}

/** The inputs with each default filled in where the program gave no value. */
export function withDefaults<T extends object, D extends Partial<T>>(news: Partial<T>, defaults: D): Partial<T> & D {
  const filled: Record<string, unknown> = { ...news };
  for (const [key, value] of Object.entries(defaults)) if (filled[key] === undefined) filled[key] = value;
  return filled as Partial<T> & D;
}

/** A failure for each of `keys` that is known and not a non-empty string. */
export function requireStrings<T extends object>(news: Partial<T>, keys: readonly (keyof T & string)[]): CheckFailure[] {
  return keys
    .filter((k) => isKnown(news[k]) && (typeof news[k] !== "string" || news[k] === ""))
    .map((k) => ({ property: k, reason: `${k} must be a non-empty string, got ${JSON.stringify(news[k] ?? null)}` }));
}

/** A failure for each of `keys` that is known and not a boolean. */
export function requireBooleans<T extends object>(news: Partial<T>, keys: readonly (keyof T & string)[]): CheckFailure[] {
  return keys
    .filter((k) => isKnown(news[k]) && typeof news[k] !== "boolean")
    .map((k) => ({ property: k, reason: `${k} must be true or false, got ${JSON.stringify(news[k] ?? null)}` }));
}

/** A failure for each of `keys` that is known and not an array of strings (an unknown element is let through). */
export function requireStringArrays<T extends object>(news: Partial<T>, keys: readonly (keyof T & string)[]): CheckFailure[] {
  return keys
    .filter((k) => {
      const v = news[k];
      return isKnown(v) && (!Array.isArray(v) || v.some((e) => typeof e !== "string"));
    })
    .map((k) => ({ property: k, reason: `${k} must be a list of strings, got ${JSON.stringify(news[k] ?? null)}` }));
}

/**
 * The state read() is handed. The dynamic-provider host always passes one (holding at least the serialized provider);
 * the SDK types it optional for providers that can import a resource from its id alone, which these cannot.
 */
export function stateGiven<T>(state: T | undefined): T {
  if (state === undefined) throw new Error("this resource cannot be read without its state (it cannot be imported by id)");
  return state;
}
