import { z } from "zod";
import type { PageKey, PageRequest } from "../db/page";
import { RequestValidationError } from "./errors";

/**
 * The query and the cursor every history list shares (db/page.ts pages them). A cursor is opaque to clients:
 * the list it belongs to and the key of the previous page's last row, base64url-encoded; one of another list,
 * or one this server did not give, is a 400.
 */

export const UUID_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const BIGINT_ID = /^[1-9][0-9]{0,18}$/;

const CURSOR_MESSAGE = "not a cursor this server gave";

/** The query fields of a page; a list adds its filters. */
export function pageQueryFields(defaultLimit: number) {
  return {
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().max(400, CURSOR_MESSAGE).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(defaultLimit),
  };
}

/** The OpenAPI description of those fields; `timeWord` says which time orders the list (`created`). */
export function pageQueryDocs(what: string, defaultLimit: number, timeWord = ""): { name: string; description: string }[] {
  const when = timeWord ? `${what} ${timeWord}` : what;
  return [
    { name: "since", description: `${when} at or after this time (RFC 3339)` },
    { name: "until", description: `${when} before this time (RFC 3339)` },
    { name: "cursor", description: "The previous page's nextCursor (opaque)" },
    { name: "limit", description: `${what} per page, 1-500 (default ${defaultLimit})` },
  ];
}

export function encodeCursor(list: string, key: PageKey): string {
  return Buffer.from(`${list}:${key.at}:${key.id}`).toString("base64url");
}

function decodeCursor(list: string, cursor: string, idPattern: RegExp): PageKey | undefined {
  const text = Buffer.from(cursor, "base64url").toString();
  const m = /^([a-z-]+):(\d{1,17}):(.+)$/s.exec(text);
  if (!m || m[1] !== list || !idPattern.test(m[3])) return undefined;
  const key = { at: m[2], id: m[3] };
  // Only the exact text given out: base64url has other spellings of the same bytes.
  return encodeCursor(list, key) === cursor ? key : undefined;
}

/** The page a validated query asks for; a cursor that is not one of `list`'s is refused naming the field. */
export function pageRequestOf(
  list: string,
  q: { since?: string; until?: string; cursor?: string; limit: number },
  idPattern: RegExp,
): PageRequest {
  let after: PageKey | undefined;
  if (q.cursor !== undefined) {
    after = decodeCursor(list, q.cursor, idPattern);
    if (!after) throw new RequestValidationError([{ field: "cursor", message: CURSOR_MESSAGE }]);
  }
  return { since: q.since, until: q.until, after, limit: q.limit };
}

export function nextCursorOf(list: string, next: PageKey | null): string | null {
  return next ? encodeCursor(list, next) : null;
}

/** A page's `nextCursor`, as every list documents it. */
export const nextCursorField = z.string().nullable().describe("Pass as `cursor` for the next (older) page; null on the last");
