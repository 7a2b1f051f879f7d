import assert from "node:assert/strict";
import { test } from "node:test";
import { k8sNameFor, stackNameFor, vaultWebhookPath, webhookUrlPath } from "../../domain/names";
import type { RunBody } from "../../testkit/server";
import { createEmulatorRepo, startFaultServer, TERMINAL, timeBudget, uniqueOwner } from "../../testkit/fault-server";
import { emulator } from "../../testkit/github-emulator";
import { kubeApi } from "../../testkit/kube-api";
import { deleteVaultSecret, readVaultSecret } from "../../testkit/vault-api";

// An update converges the world on the declared stack: a repo's environment changed or deleted by
// hand (its StatefulSet and RoleBinding deleted, its Service's selector and its GitHub webhook's URL and secret
// edited, its webhook secret gone from Vault) is repaired by ONE re-onboarding, which must not report everything
// `same` and then wait at pod-health for a pod that no longer exists. Before the edits, an identical re-onboarding is
// answered up-to-date from its fingerprint without starting Pulumi; after them, the one that repairs is one whose
// config changed (an identical one would still be up-to-date: finding hand edits is the drift check's job).

const TIMEOUT_MS = 600_000;
const NS = "mesh-six";

interface Obj {
  metadata: { name: string; uid: string };
  spec: Record<string, unknown>;
  roleRef?: unknown;
  subjects?: unknown;
}

test("one update brings back what was deleted and undoes what was edited by hand", { timeout: TIMEOUT_MS }, async (t) => {
  const left = timeBudget(TIMEOUT_MS);
  const ref = { owner: uniqueOwner("converge"), repo: "widgets" };
  await createEmulatorRepo(ref);
  // pod-health's own wait is a minute here: an update that does not repair the StatefulSet fails within the test.
  // The state in the database, where the test can see that an up-to-date answer left it alone.
  const fs = await startFaultServer({ env: { MESH_SIX_POD_READY_TIMEOUT_MS: "60000" }, stateInDatabase: true });
  const name = k8sNameFor(ref);
  const paths = {
    sts: `/apis/apps/v1/namespaces/${NS}/statefulsets/${name}`,
    svc: `/api/v1/namespaces/${NS}/services/${name}`,
    rb: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/${name}-pod-reader`,
  };
  const get = async (p: string) => {
    const res = await kubeApi("GET", p);
    assert.equal(res.status, 200, `GET ${p}: ${JSON.stringify(res.body)}`);
    return res.body as Obj;
  };
  try {
    const first = await fs.onboard(ref);
    assert.equal(first.status, 202);
    const onboarded = await fs.waitForRun(first.runId!, TERMINAL, left());
    assert.equal(onboarded.status, "succeeded", `${onboarded.failedStep}: ${onboarded.failureReason}`);
    const declared = { sts: await get(paths.sts), svc: await get(paths.svc), rb: await get(paths.rb) };
    const hookId = Number(onboarded.outputs?.webhookId);
    assert.ok(hookId > 0, JSON.stringify(onboarded.outputs));
    const hookPath = `/repos/${ref.owner}/${ref.repo}/hooks/${hookId}`;
    const serverUrl = "http://127.0.0.1:8080"; // the fault server's MESH_SIX_PUBLIC_URL
    const webhookUrl = `${serverUrl}${webhookUrlPath(ref)}`;
    assert.equal((await emulator<{ config: { url: string } }>("GET", hookPath)).body.config.url, webhookUrl);
    t.diagnostic(`first onboarding: ${recordOf(onboarded)}`);
    assert.equal(onboarded.outcome, "applied");
    assert.equal(onboarded.fingerprint?.verdict, "first");

    // The same request again: up to date, from the fingerprint alone. No CLI was started (no select-stack, no engine
    // event) and no Pulumi command touched the stack's state (its checkpoint, history and locks are as they were).
    const stateOfStack = async () =>
      (await fs.pool.query("SELECT key, updated_at FROM pulumi_state WHERE key LIKE $1 ORDER BY key", [`%/${stackNameFor(ref)}%`])).rows;
    const stateBefore = await stateOfStack();
    assert.ok(stateBefore.length > 0, "the stack's state is in the database");
    const same = await fs.onboard(ref);
    const upToDate = await fs.waitForRun(same.runId!, TERMINAL, left());
    t.diagnostic(`identical re-onboard: ${recordOf(upToDate)}`);
    assert.equal(upToDate.status, "succeeded", `${upToDate.failedStep}: ${upToDate.failureReason}`);
    assert.equal(upToDate.outcome, "up-to-date");
    assert.equal(upToDate.upToDateWith, onboarded.id);
    assert.equal(upToDate.fingerprint?.digest, onboarded.fingerprint?.digest);
    assert.ok(Date.parse(upToDate.finishedAt!) - Date.parse(upToDate.startedAt!) < 1000, "answered well under a second");
    assert.deepEqual(upToDate.outputs, onboarded.outputs);
    assert.deepEqual(
      (await fs.events(same.runId!)).filter((e) => e.type !== "status").map((e) => `${e.type}:${String(e.data.step)}`),
      ["step:up"],
    );
    assert.deepEqual(await stateOfStack(), stateBefore, "no Pulumi command ran on the stack");

    // By hand, behind the stack's back.
    assert.equal((await kubeApi("DELETE", `${paths.sts}?propagationPolicy=Background`)).status, 200);
    assert.equal((await kubeApi("DELETE", paths.rb)).status, 200);
    const selector = declared.svc.spec.selector as Record<string, string>;
    // A declared value changed, as `kubectl edit` would. (A key added by another field manager is that manager's under
    // server-side apply, which the provider uses: an apply keeps it. Not what this test is about.)
    const repoKey = "mesh-six.dev/repo";
    assert.ok(selector[repoKey], JSON.stringify(selector));
    const hijacked = await kubeApi(
      "PATCH",
      paths.svc,
      { spec: { selector: { ...selector, [repoKey]: "hijacked" } } },
      "application/merge-patch+json",
    );
    assert.equal(hijacked.status, 200, JSON.stringify(hijacked.body));
    const edited = await emulator("PATCH", `${hookPath}/config`, { url: "https://hijacked.example/hook", secret: "a-secret-set-by-hand" });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    await deleteVaultSecret(vaultWebhookPath(ref));
    assert.equal((await kubeApi("GET", paths.sts)).status, 404);

    const update = await fs.onboard(ref, { labels: ["mesh-six", "converged"] });
    assert.equal(update.body.kind, "update");
    const started = Date.now();
    const run = await fs.waitForRun(update.runId!, TERMINAL, left());
    t.diagnostic(`the update took ${Date.now() - started} ms: ${JSON.stringify(run.changeSummary)}`);
    t.diagnostic(`re-onboard with a changed config: ${recordOf(run)}`);
    assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
    assert.equal(run.outcome, "applied");
    assert.equal(run.fingerprint?.comparedWith, onboarded.id);
    assert.deepEqual(run.fingerprint?.reasons, ["config added: mesh-six:labels"]);
    const changed = Object.entries(run.changeSummary ?? {})
      .filter(([op]) => op !== "same")
      .reduce((n, [, c]) => n + c, 0);
    assert.ok(changed >= 4, `the update changed what was changed by hand: ${JSON.stringify(run.changeSummary)}`);

    const now = { sts: await get(paths.sts), svc: await get(paths.svc), rb: await get(paths.rb) };
    assert.notEqual(now.sts.metadata.uid, declared.sts.metadata.uid, "a new StatefulSet");
    for (const key of ["replicas", "serviceName", "selector", "template", "volumeClaimTemplates"]) {
      assert.deepEqual(strip(now.sts.spec[key]), strip(declared.sts.spec[key]), `StatefulSet spec.${key}`);
    }
    assert.deepEqual(now.svc.spec.selector, selector, "the Service selects the environment's pod again");
    assert.deepEqual([now.rb.roleRef, now.rb.subjects], [declared.rb.roleRef, declared.rb.subjects]);

    const hook = (await emulator<{ config: { url: string } }>("GET", hookPath)).body;
    assert.equal(hook.config.url, webhookUrl, "the webhook points at the server again");
    const vault = await readVaultSecret(vaultWebhookPath(ref));
    assert.ok(vault?.secret, "the webhook secret is back in Vault");
    const signing = (await emulator<{ secret: string }>("GET", `/_emulator/hooks/${hookId}/secret`)).body.secret;
    assert.equal(signing, vault.secret, "GitHub signs with the secret Vault holds");

    // And the world now matches the state: nothing left to change.
    assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 });
  } finally {
    await fs.cleanup([ref]);
  }
});

/** A run's record for the test's log: its fingerprint's components as short hashes. */
function recordOf(run: RunBody): string {
  const { id, kind, status, outcome, upToDateWith, startedAt, finishedAt, changeSummary, fingerprint } = run;
  const durationMs = Date.parse(finishedAt ?? "") - Date.parse(startedAt ?? "");
  const components = Object.fromEntries(Object.entries(fingerprint?.components ?? {}).map(([k, v]) => [k, v.slice(0, 12)]));
  return JSON.stringify({
    id,
    kind,
    status,
    outcome,
    upToDateWith,
    durationMs,
    changeSummary,
    fingerprint: fingerprint && { ...fingerprint, components },
  });
}

/** A spec as declared, without what the API server fills in per object (its status, defaults stay: both have them). */
function strip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null), (key, v) => (key === "creationTimestamp" || key === "status" ? undefined : v));
}
