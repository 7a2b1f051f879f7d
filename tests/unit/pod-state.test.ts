import assert from "node:assert/strict";
import { test } from "node:test";
import { describePodState, isPodReady } from "../../clients/pod-health";

test("a pod is Ready only by its Ready condition", () => {
  assert.equal(isPodReady({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } }), true);
  assert.equal(isPodReady({ status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] } }), false);
  assert.equal(isPodReady({ status: { phase: "Running" } }), false);
});

test("an unscheduled pod is described by its PodScheduled condition", () => {
  const state = describePodState({
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available" }],
    },
  });
  assert.equal(state, "PodScheduled=False Unschedulable: 0/1 nodes are available");
});

test("a scheduled pod is described by its Ready condition and its stuck containers", () => {
  const state = describePodState({
    status: {
      phase: "Pending",
      conditions: [
        { type: "PodScheduled", status: "True" },
        { type: "ContainersReady", status: "False", reason: "ContainersNotReady" },
        { type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [envbuilder]" },
      ],
      containerStatuses: [
        { name: "envbuilder", state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } },
        { name: "sidecar", state: { waiting: { reason: "ContainerCreating" } } },
      ],
    },
  });
  assert.equal(
    state,
    "Ready=False ContainersNotReady: containers with unready status: [envbuilder]; container envbuilder waiting: ImagePullBackOff: Back-off pulling image",
  );
});

test("a pod without conditions is described by its phase", () => {
  assert.equal(describePodState({ status: { phase: "Pending" } }), "phase Pending");
  assert.equal(describePodState({}), "phase unknown");
});
