import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, readEventStream, startTestServer, waitForStatus } from "../../testkit/server";

const ENGINE_EVENTS = [
  {
    type: "resource" as const,
    phase: "pre" as const,
    op: "create",
    urn: "urn:pulumi:acme.widgets::mesh-six::mesh-six:repo:RepoEnvironment::env",
    resourceType: "mesh-six:repo:RepoEnvironment",
  },
  { type: "diagnostic" as const, severity: "warning", message: "devcontainer.json not found; using the fallback image" },
];

test("the event stream replays the run's events, follows it live and ends when it is terminal", async () => {
  const gate = new Gate();
  const runner = new ScriptedRunner().on("acme.widgets", { events: ENGINE_EVENTS, gate });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await gate.reached();
    const res = await srv.request(`/v1/runs/${runId}/events`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reading = readEventStream(res); // resolves only when the server ends the stream
    setTimeout(() => gate.release(), 100);
    const events = await reading;
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1),
      "ids are the run's event seqs, 1..n",
    );
    const summary = events.map((e) => {
      const data = JSON.parse(e.data) as { type: string; data: Record<string, unknown> };
      assert.equal(data.type, e.event);
      return e.event === "status" ? `status:${data.data.status}` : e.event === "step" ? `step:${data.data.step}` : e.event;
    });
    assert.deepEqual(summary, [
      "status:queued",
      "status:running",
      "step:select-stack",
      "step:up",
      "resource",
      "diagnostic",
      "step:pod-health",
      "step:auth",
      "status:succeeded",
    ]);
  } finally {
    await srv.close();
  }
});

test("a reconnecting client gets only the events after its Last-Event-ID", async () => {
  const runner = new ScriptedRunner().on("acme.widgets", { events: ENGINE_EVENTS });
  const srv = await startTestServer({ runner });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await waitForStatus(srv, runId, "succeeded");
    const all = await readEventStream(await srv.request(`/v1/runs/${runId}/events`));
    const tail = await readEventStream(await srv.request(`/v1/runs/${runId}/events`, { headers: { "Last-Event-ID": "4" } }));
    assert.deepEqual(tail, all.slice(4));
    // Nothing after the last event of a finished run: 204 tells EventSource to stop reconnecting.
    const done = await srv.request(`/v1/runs/${runId}/events`, { headers: { "Last-Event-ID": all.at(-1)!.id! } });
    assert.equal(done.status, 204);
  } finally {
    await srv.close();
  }
});

test("a malformed Last-Event-ID is a 400 naming the header; an unknown run a 404", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    const bad = await srv.request(`/v1/runs/${runId}/events`, { headers: { "Last-Event-ID": "abc" } });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { issues: { field: string }[] }).issues[0].field, "Last-Event-ID");
    const missing = await srv.request("/v1/runs/7d444840-9dc0-11d1-b245-5ffdce74fad2/events");
    assert.equal(missing.status, 404);
  } finally {
    await srv.close();
  }
});

test("a run's policy violations are kept on its record, a failed run's included", async () => {
  const advisory = {
    type: "policy",
    policyPack: "mesh-six",
    policy: "resource-limits",
    enforcement: "advisory",
    message: "set limits",
    urn: "urn:a",
  } as const;
  const mandatory = {
    type: "policy",
    policyPack: "mesh-six",
    policy: "image-pinned",
    enforcement: "mandatory",
    message: "pin the image",
  } as const;
  const runner = new ScriptedRunner()
    .on("acme.widgets", {
      events: [{ type: "log", message: "x" }, advisory, { type: "summary", changes: { create: 1 }, policyPacks: { "mesh-six": "0.1.0" } }],
    })
    .on("acme.gadgets", { events: [mandatory], failAt: { step: "up", message: "mandatory policy violation" } });
  const srv = await startTestServer({ runner });
  try {
    const ok = await onboard(srv, { owner: "acme", repo: "widgets" });
    const bad = await onboard(srv, { owner: "acme", repo: "gadgets" });
    const okRun = await waitForStatus(srv, ok.runId, "succeeded");
    const badRun = await waitForStatus(srv, bad.runId, "failed");
    const { type: _a, ...advisoryResult } = advisory;
    const { type: _m, ...mandatoryResult } = mandatory;
    assert.deepEqual(okRun.policy, { packs: { "mesh-six": "0.1.0" }, violations: [advisoryResult] });
    assert.deepEqual(badRun.policy, { packs: {}, violations: [mandatoryResult] });
  } finally {
    await srv.close();
  }
});
