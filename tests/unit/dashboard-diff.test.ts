import assert from "node:assert/strict";
import { test } from "node:test";
import { resourceDiff, settingsDiff } from "../../ui/src/diff";
import type { RunEventMessage } from "../../ui/src/types";

// The dashboard's pure parts, without a browser: what a preview diff says and which state a repo is shown in.

test("a settings diff pairs each changed setting's old and new value, nested ones by their dotted path", () => {
  const lines = settingsDiff(
    { displayName: "Widgets", labels: ["mesh-six"], resources: { limits: { cpu: "2", memory: "4Gi" } } },
    { displayName: "Widgets v2", labels: ["mesh-six"], resources: { limits: { cpu: "2" } }, authProjectId: "p1" },
  );
  assert.deepEqual(
    lines.map((l) => `${l.kind} ${l.text}`),
    [
      'add + authProjectId: "p1"',
      'del - displayName: "Widgets"',
      'add + displayName: "Widgets v2"',
      'ctx   labels: ["mesh-six"]',
      'ctx   resources.limits.cpu: "2"',
      'del - resources.limits.memory: "4Gi"',
    ],
  );
  assert.ok(
    settingsDiff(null, { owner: "acme" }).every((l) => l.kind === "add"),
    "with nothing applied, everything is added",
  );
});

const event = (seq: number, op: string, name: string, phase = "pre"): RunEventMessage => ({
  seq,
  type: "resource",
  data: { phase, op, urn: `urn:pulumi:s::p::kubernetes:core/v1:ConfigMap::${name}`, resourceType: "kubernetes:core/v1:ConfigMap" },
  at: "2026-01-01T00:00:00Z",
});

test("a resource plan lists each resource once with its planned operation, changes before what stays", () => {
  const lines = resourceDiff([
    event(1, "same", "a"),
    event(2, "delete", "b"),
    event(3, "create", "c"),
    event(4, "create", "c", "done"),
    event(5, "update", "d"),
  ]);
  assert.deepEqual(
    lines.map((l) => l.text.replace(/\s+/g, " ")),
    [
      "+ create kubernetes:core/v1:ConfigMap c",
      "~ update kubernetes:core/v1:ConfigMap d",
      "- delete kubernetes:core/v1:ConfigMap b",
      " same kubernetes:core/v1:ConfigMap a",
    ],
  );
});
