import assert from "node:assert/strict";
import { test } from "node:test";
import { type RepoFacts, type RepoState, repoState } from "../../domain/repo-state";

const t0 = new Date("2026-01-01T10:00:00Z");
const before = new Date("2026-01-01T09:00:00Z");
const after = new Date("2026-01-01T11:00:00Z");
const registry = (over: Partial<NonNullable<RepoFacts["registry"]>> = {}) => ({
  updatedAt: before,
  driftStatus: "unknown",
  driftCheckedAt: null,
  ...over,
});

test("each lifecycle state follows from the runs, the registry row and its drift verdict", () => {
  const cases: [string, RepoFacts, RepoState][] = [
    ["a first onboard queued", { pending: { kind: "onboard" } }, "onboarding"],
    [
      "onboarded again after an offboarding",
      { pending: { kind: "onboard" }, last: { kind: "destroy", status: "succeeded", finishedAt: t0 } },
      "onboarding",
    ],
    [
      "a destroy under way",
      { pending: { kind: "destroy" }, last: { kind: "onboard", status: "succeeded", finishedAt: t0 }, registry: registry() },
      "offboarding",
    ],
    [
      "an update under way leaves the state as it was",
      { pending: { kind: "update" }, last: { kind: "onboard", status: "succeeded", finishedAt: t0 }, registry: registry() },
      "onboarded",
    ],
    ["the onboard succeeded", { last: { kind: "onboard", status: "succeeded", finishedAt: t0 } }, "onboarded"],
    ["the onboard failed", { last: { kind: "onboard", status: "failed", finishedAt: t0 } }, "failed"],
    [
      "an update was cancelled while it ran",
      { last: { kind: "update", status: "cancelled", finishedAt: t0 }, registry: registry() },
      "failed",
    ],
    ["the destroy failed", { last: { kind: "destroy", status: "failed", finishedAt: t0 }, registry: registry() }, "failed"],
    [
      "a failed onboard, then an up from the CLI",
      { last: { kind: "onboard", status: "failed", finishedAt: t0 }, registry: registry({ updatedAt: after }) },
      "onboarded",
    ],
    ["registered from the CLI, no run", { registry: registry() }, "onboarded"],
    [
      "a drift check after the last apply found changes",
      {
        last: { kind: "update", status: "succeeded", finishedAt: t0 },
        registry: registry({ driftStatus: "drifted", driftCheckedAt: after }),
      },
      "drifted",
    ],
    [
      "the drift was found before an update that put it back",
      {
        last: { kind: "update", status: "succeeded", finishedAt: t0 },
        registry: registry({ driftStatus: "drifted", driftCheckedAt: before }),
      },
      "onboarded",
    ],
    [
      "in sync",
      {
        last: { kind: "onboard", status: "succeeded", finishedAt: t0 },
        registry: registry({ driftStatus: "in-sync", driftCheckedAt: after }),
      },
      "onboarded",
    ],
    ["drifted, registered from the CLI", { registry: registry({ driftStatus: "drifted", driftCheckedAt: after }) }, "drifted"],
    ["the destroy succeeded", { last: { kind: "destroy", status: "succeeded", finishedAt: t0 } }, "offboarded"],
    [
      "destroyed, its old row outlived it",
      { last: { kind: "destroy", status: "succeeded", finishedAt: t0 }, registry: registry() },
      "offboarded",
    ],
    [
      "destroyed, then brought up from the CLI",
      { last: { kind: "destroy", status: "succeeded", finishedAt: t0 }, registry: registry({ updatedAt: after }) },
      "onboarded",
    ],
    ["nothing ever applied (an onboard cancelled while queued)", {}, "offboarded"],
  ];
  for (const [what, facts, state] of cases) assert.equal(repoState(facts), state, what);
});
