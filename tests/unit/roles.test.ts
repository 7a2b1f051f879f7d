import assert from "node:assert/strict";
import { test } from "node:test";
import { holdsRole, RANKED_ROLES, ROLES } from "../../domain/roles";

test("each ranked role holds itself and those below it; an agent token holds none of them", () => {
  const held = ROLES.map((role) => [role, RANKED_ROLES.filter((needed) => holdsRole(role, needed))]);
  assert.deepEqual(held, [
    ["viewer", ["viewer"]],
    ["operator", ["viewer", "operator"]],
    ["admin", ["viewer", "operator", "admin"]],
    ["agent", []],
  ]);
});
