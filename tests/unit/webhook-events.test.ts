import assert from "node:assert/strict";
import { test } from "node:test";
import { type BoardRules, decideBoardEvent, decideRepoEvent, type RepoRules } from "../../server/webhooks/events";
import { deliveryFiltersSchema } from "../../domain/repo-config";

const rules: RepoRules = {
  owner: "acme",
  repo: "widgets",
  labels: ["agents"],
  allowedAuthors: [],
  filters: deliveryFiltersSchema.parse({}),
};
const board: BoardRules = { owner: "acme", repo: "widgets", statusFieldId: "F_status", statusOptions: { Todo: "o1", Done: "o2" } };
const issue = (labels: string[]) => ({ number: 1, title: "t", user: { login: "a" }, labels: labels.map((name) => ({ name })) });

test("repo labels configured as none turn no issue into work", () => {
  const decision = decideRepoEvent("issues", { action: "opened", issue: issue(["agents"]) }, { ...rules, labels: [] });
  assert.equal(decision.outcome, "ignored");
});

test("events and actions not handled are ignored with a reason", () => {
  assert.deepEqual(decideRepoEvent("push", {}, rules), { outcome: "ignored", reason: "event push is not handled" });
  assert.equal(decideRepoEvent("issues", { action: "closed", issue: issue(["agents"]) }, rules).outcome, "ignored");
  assert.equal(
    decideRepoEvent("issue_comment", { action: "deleted", issue: issue(["agents"]), comment: { id: 1, user: { login: "a" } } }, rules)
      .outcome,
    "ignored",
  );
});

test("a board edit to another field than Status is ignored; a move names both columns and states", () => {
  const item = { node_id: "I", project_node_id: "P" };
  const other = decideBoardEvent(
    { action: "edited", projects_v2_item: item, changes: { field_value: { field_node_id: "F_prio" } } },
    board,
  );
  assert.equal(other.outcome, "ignored");
  const moved = decideBoardEvent(
    { action: "edited", projects_v2_item: item, changes: { field_value: { field_node_id: "F_status", from: null, to: { id: "o2" } } } },
    board,
  );
  assert.equal(moved.outcome, "work");
  assert.deepEqual(moved.outcome === "work" && moved.item.payload.status, {
    from: null,
    to: { optionId: "o2", column: "Done", state: "ACCEPTED" },
  });
  const unknownOption = decideBoardEvent(
    { action: "edited", projects_v2_item: item, changes: { field_value: { field_node_id: "F_status", to: { id: "zz" } } } },
    board,
  );
  assert.deepEqual(unknownOption.outcome === "work" && unknownOption.item.payload.status, {
    from: null,
    to: { optionId: "zz", column: null, state: null },
  });
});

test("without the Status field's id in the registry, the field's name identifies it", () => {
  const item = { node_id: "I", project_node_id: "P" };
  const noId = { ...board, statusFieldId: null };
  assert.equal(
    decideBoardEvent(
      { action: "edited", projects_v2_item: item, changes: { field_value: { field_name: "Status", to: { id: "o1" } } } },
      noId,
    ).outcome,
    "work",
  );
  assert.equal(
    decideBoardEvent({ action: "edited", projects_v2_item: item, changes: { field_value: { field_name: "Priority" } } }, noId).outcome,
    "ignored",
  );
  assert.equal(decideBoardEvent({ action: "reordered", projects_v2_item: item }, board).outcome, "ignored");
  assert.equal(decideBoardEvent({ action: "archived", projects_v2_item: item }, board).outcome, "work");
});
