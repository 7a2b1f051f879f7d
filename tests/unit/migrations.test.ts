import assert from "node:assert/strict";
import { test } from "node:test";
import { readdirSync } from "node:fs";
import path from "node:path";

test("migration files are numbered uniquely so their order is unambiguous", () => {
  const files = readdirSync(path.join(__dirname, "../../db/migrations")).filter((f) => f.endsWith(".sql"));
  assert.ok(files.length > 0);
  for (const f of files) assert.match(f, /^\d{3}_[a-z0-9_]+\.sql$/, `${f} must be NNN_name.sql`);
  const numbers = files.map((f) => f.slice(0, 3));
  assert.equal(new Set(numbers).size, numbers.length, `duplicate migration numbers in ${files.join(", ")}`);
});
