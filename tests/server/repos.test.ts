import assert from "node:assert/strict";
import { test } from "node:test";
import { onboard, startTestServer, waitForStatus } from "../../testkit/server";

test("a preview applies the body's changes to the settings last applied", async () => {
  const srv = await startTestServer();
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets", displayName: "Widgets", labels: ["agents"] });
    await waitForStatus(srv, runId, "succeeded");
    const res = await srv.request("/v1/repos/acme/widgets/preview", { method: "POST", json: { displayName: "Widgets 2" } });
    assert.equal(res.status, 202);
    const { runId: previewId, kind } = (await res.json()) as { runId: string; kind: string };
    assert.equal(kind, "preview");
    const run = await waitForStatus(srv, previewId, "succeeded");
    assert.deepEqual(run.request, {
      owner: "acme",
      repo: "widgets",
      displayName: "Widgets 2",
      labels: ["agents"],
      serverUrl: srv.config.publicUrl,
    });
    assert.equal(srv.runner.calls.at(-1)?.kind, "preview");
  } finally {
    await srv.close();
  }
});

test("a preview's nested change keeps the applied settings beside it; a list is replaced whole", async () => {
  const srv = await startTestServer();
  try {
    const limits = { cpu: "4", memory: "4Gi" };
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets", labels: ["agents", "bugs"], resources: { limits } });
    await waitForStatus(srv, runId, "succeeded");
    const res = await srv.request("/v1/repos/acme/widgets/preview", {
      method: "POST",
      json: { resources: { limits: { memory: "8Gi" } }, labels: ["agents"] },
    });
    assert.equal(res.status, 202);
    const run = await waitForStatus(srv, ((await res.json()) as { runId: string }).runId, "succeeded");
    const request = run.request as { resources: { limits: Record<string, string> }; labels: string[] };
    assert.deepEqual(request.resources.limits, { cpu: "4", memory: "8Gi" });
    assert.deepEqual(request.labels, ["agents"]);
  } finally {
    await srv.close();
  }
});

test("a preview with invalid settings or repo names is a 400 naming the field", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const body = await srv.request("/v1/repos/acme/widgets/preview", { method: "POST", json: { workspaceStorage: "big", owner: "x" } });
    assert.equal(body.status, 400);
    const issues = ((await body.json()) as { issues: { field: string }[] }).issues.map((i) => i.field).sort();
    assert.deepEqual(issues, ["owner", "workspaceStorage"]);
    const name = await srv.request("/v1/repos/-acme-/widgets/preview", { method: "POST" });
    assert.equal(name.status, 400);
    assert.equal(((await name.json()) as { issues: { field: string }[] }).issues[0].field, "owner");
  } finally {
    await srv.close();
  }
});

test("refresh and offboarding need a known repo, then queue runs of their kind", async () => {
  const srv = await startTestServer();
  try {
    for (const [method, path] of [
      ["POST", "/v1/repos/acme/widgets/refresh"],
      ["DELETE", "/v1/repos/acme/widgets"],
    ]) {
      const res = await srv.request(path, { method });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: "repo_not_found" });
    }
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await waitForStatus(srv, runId, "succeeded");
    const refresh = await srv.request("/v1/repos/acme/widgets/refresh", { method: "POST" });
    assert.equal(refresh.status, 202);
    const refreshRun = (await refresh.json()) as { runId: string; kind: string };
    assert.equal(refreshRun.kind, "refresh");
    await waitForStatus(srv, refreshRun.runId, "succeeded");
    const destroy = await srv.request("/v1/repos/acme/widgets", { method: "DELETE" });
    assert.equal(destroy.status, 202);
    assert.equal(destroy.headers.get("location")?.startsWith("/v1/runs/"), true);
    const destroyRun = (await destroy.json()) as { runId: string; kind: string };
    assert.equal(destroyRun.kind, "destroy");
    await waitForStatus(srv, destroyRun.runId, "succeeded");
    assert.deepEqual(
      srv.runner.calls.map((c) => c.kind),
      ["onboard", "refresh", "destroy"],
    );
    // Offboarded: onboarding it again is an onboarding, not an update.
    assert.equal((await onboard(srv, { owner: "acme", repo: "widgets" })).body.kind, "onboard");
  } finally {
    await srv.close();
  }
});

test("repos are listed with their registry row and last run; an unknown repo is a 404", async () => {
  const srv = await startTestServer();
  try {
    const { runId } = await onboard(srv, { owner: "acme", repo: "widgets" });
    await waitForStatus(srv, runId, "succeeded");
    await srv.db.pool.query(
      `INSERT INTO repo_registry (full_name, owner, repo, stack_name, display_name, default_branch, webhook_secret_path, env_statefulset, env_namespace, agent_settings)
       VALUES ('acme/widgets', 'acme', 'widgets', 'acme.widgets', 'Widgets', 'main', 'mesh-six/webhooks/repos/acme/widgets', 'env-acme-widgets', 'mesh-six', '{"model": "opus"}')`,
    );
    const list = (await (await srv.request("/v1/repos")).json()) as {
      repos: { fullName: string; registry: Record<string, unknown> | null; lastRun: { id: string } | null }[];
    };
    assert.equal(list.repos.length, 1);
    assert.equal(list.repos[0].fullName, "acme/widgets");
    assert.equal(list.repos[0].registry?.displayName, "Widgets");
    assert.equal(list.repos[0].lastRun?.id, runId);

    const one = await srv.request("/v1/repos/Acme/Widgets"); // GitHub names are case-insensitive
    assert.equal(one.status, 200);
    const shown = (await one.json()) as { stackName: string; registry: { agentSettings: unknown; filters: unknown } };
    assert.equal(shown.stackName, "acme.widgets");
    // The repo's agent settings as its stack applied them, and its filters as written ('{}': the defaults).
    assert.deepEqual([shown.registry.agentSettings, shown.registry.filters], [{ model: "opus" }, {}]);
    const missing = await srv.request("/v1/repos/acme/gadgets");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "repo_not_found" });
  } finally {
    await srv.close();
  }
});
