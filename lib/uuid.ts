const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `s` is a UUID in its text form. Ids from a URL are checked before they reach a `uuid` column: a
 * malformed one is simply not found, rather than a query the database refuses.
 */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
