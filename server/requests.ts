import { createHash } from "node:crypto";
import type { Request } from "express";
import type { z } from "zod";
import { type FieldIssue, RequestValidationError } from "./errors";

/** Validates a request part; every issue names its field (`resources.limits.cpu`, `(body)` for the whole). */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new RequestValidationError(toFieldIssues(result.error.issues));
}

export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.flatMap((issue): FieldIssue[] => {
    const at = (extra: PropertyKey[] = []) => [...issue.path, ...extra].map(String).join(".") || "(body)";
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ field: at([key]), message: "unknown field" }));
    if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) return [{ field: at(), message: "required" }];
    return [{ field: at(), message: issue.message }];
  });
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's Idempotency-Key with a hash of what it asks for (route and payload, keys sorted), so the
 * same key sent again with the same request finds its run, and with a different one is refused.
 */
export function idempotencyOf(req: Request, scope: string, payload: unknown): { key: string; hash: string } | undefined {
  const key = req.get("idempotency-key");
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new RequestValidationError([{ field: "Idempotency-Key", message: "expected 1-255 visible ASCII characters" }]);
  }
  return { key, hash: createHash("sha256").update(canonicalJson({ scope, payload })).digest("hex") };
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
