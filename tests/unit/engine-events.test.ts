import assert from "node:assert/strict";
import { test } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { summariseEngineEvent } from "../../pulumi/engine-events";
import { redactOutputs } from "../../domain/runs";
import { progressLine } from "../../cli/progress";

const URN = "urn:pulumi:acme.widgets::mesh-six::mesh-six:repo:WebhookSecret::hook";

test("a resource event is summarised to urn, type and op, never its property bags", () => {
  const event = {
    sequence: 3,
    timestamp: 0,
    resOutputsEvent: {
      metadata: {
        op: "create",
        urn: URN,
        type: "mesh-six:repo:WebhookSecret",
        provider: "",
        new: { type: "mesh-six:repo:WebhookSecret", urn: URN, inputs: { secret: "hunter2" }, outputs: { secret: "hunter2" } },
      },
    },
  } as unknown as EngineEvent;
  const summary = summariseEngineEvent(event);
  assert.deepEqual(summary, { type: "resource", phase: "done", op: "create", urn: URN, resourceType: "mesh-six:repo:WebhookSecret" });
  assert.doesNotMatch(JSON.stringify(summary), /hunter2/);
});

test("diagnostics lose their colour codes; ephemeral, debug and empty ones are dropped", () => {
  const diag = (message: string, extra = {}) =>
    summariseEngineEvent({
      sequence: 1,
      timestamp: 0,
      diagnosticEvent: { message, color: "raw", severity: "error", ...extra },
    } as EngineEvent);
  assert.deepEqual(diag("\u001b[31mboom\u001b[0m\n", { urn: URN }), { type: "diagnostic", severity: "error", message: "boom", urn: URN });
  assert.equal(diag("progress", { ephemeral: true }), undefined);
  assert.equal(diag("  \n"), undefined);
  assert.equal(diag("Registering resource: t=pulumi:pulumi:Stack", { severity: "debug" }), undefined);
  assert.equal(summariseEngineEvent({ sequence: 1, timestamp: 0, preludeEvent: { config: {} } } as EngineEvent), undefined);
});

test("secret outputs are redacted, others kept as they are", () => {
  assert.deepEqual(redactOutputs({ a: { value: { n: 1 }, secret: false }, b: { value: "x", secret: true } }), {
    a: { n: 1 },
    b: "[secret]",
  });
});

test("the CLI prints changes and failures, not resources left as they were", () => {
  assert.equal(progressLine({ type: "step", step: "up" }), "== up");
  assert.equal(progressLine({ type: "resource", phase: "pre", op: "same", urn: URN, resourceType: "t" }), undefined);
  assert.equal(
    progressLine({ type: "resource", phase: "pre", op: "create", urn: URN, resourceType: "mesh-six:repo:WebhookSecret" }),
    "   create   mesh-six:repo:WebhookSecret hook",
  );
  assert.match(progressLine({ type: "resource", phase: "failed", op: "update", urn: URN, resourceType: "t" }) ?? "", /FAILED update/);
  assert.equal(progressLine({ type: "summary", changes: { create: 2, same: 5 } }), "   changes: create=2 same=5");
});

test("the summary names the policy packs that ran, under the key the CLI really writes", () => {
  const event = {
    sequence: 9,
    timestamp: 0,
    summaryEvent: { maybeCorrupt: false, durationSeconds: 4, resourceChanges: { create: 2 }, PolicyPacks: { "mesh-six": "v0.1.0" } },
  } as unknown as EngineEvent;
  assert.deepEqual(summariseEngineEvent(event), {
    type: "summary",
    changes: { create: 2 },
    durationSeconds: 4,
    policyPacks: { "mesh-six": "v0.1.0" },
  });
});
