import { randomUUID } from "node:crypto";

/**
 * JSON text kept as written. `JSON.parse` then `JSON.stringify` is not the identity: integers beyond 2^53 lose
 * digits, 1e400 becomes null, -0 becomes 0, a repeated key is dropped, escapes and whitespace are rewritten.
 * A task's payload is therefore kept and sent as the text the client wrote (server/routes/tasks.ts).
 */

const WS = new Set([" ", "\t", "\n", "\r"]);

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new SyntaxError("unterminated string");
}

function valueEnd(text: string, i: number): number {
  if (text[i] === '"') return stringEnd(text, i);
  if (text[i] === "{" || text[i] === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text[j];
      if (c === '"') j = stringEnd(text, j) - 1;
      else if (c === "{" || c === "[") depth++;
      else if ((c === "}" || c === "]") && --depth === 0) return j + 1;
    }
    throw new SyntaxError("unterminated value");
  }
  let j = i;
  while (j < text.length && !WS.has(text[j]) && text[j] !== "," && text[j] !== "}" && text[j] !== "]") j++;
  return j;
}

/**
 * The source text of member `key` of the JSON object `text` (the last one when the key repeats, the one
 * JSON.parse keeps); undefined when the object has no such member. `text` must already be valid JSON.
 */
export function memberText(text: string, key: string): string | undefined {
  let i = skipWs(text, text.startsWith("\uFEFF") ? 1 : 0);
  if (text[i] !== "{") return undefined;
  i = skipWs(text, i + 1);
  let found: string | undefined;
  while (i < text.length && text[i] !== "}") {
    const keyEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past the colon
    const end = valueEnd(text, i);
    if (name === key) found = text.slice(i, end);
    i = skipWs(text, end);
    if (text[i] === ",") i = skipWs(text, i + 1);
  }
  return found;
}

// Unique per process, so no string a client or an agent sent can be taken for the placeholder.
const PLACEHOLDER = `raw-json-${randomUUID()}`;

/** JSON.stringify of `value`, with the members named in `raw` written as the given JSON texts. */
export function stringifyWithRaw(value: Record<string, unknown>, raw: Record<string, string>): string {
  const marked = { ...value };
  for (const key of Object.keys(raw)) marked[key] = `${PLACEHOLDER}:${key}`;
  let text = JSON.stringify(marked);
  for (const [key, json] of Object.entries(raw)) text = text.replace(JSON.stringify(`${PLACEHOLDER}:${key}`), () => json);
  return text;
}
