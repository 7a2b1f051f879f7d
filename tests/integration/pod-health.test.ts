import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { loadKubeCredentials } from "../../clients/kube-client";
import { PodNotReadyError, waitForPodReady } from "../../clients/pod-health";
import { kubeApi } from "../../testkit/kube-api";
import { ScriptedRunner } from "../../testkit/scripted-runner";
import { onboard, startTestServer, waitForStatus } from "../../testkit/server";

// The sandbox's kube-apiserver, scheduler and kwok node: pods bound to kwok-node-0 become Running and Ready.
const NAMESPACE = "default";
const suffix = randomBytes(3).toString("hex");
const created: string[] = [];

async function createPod(name: string, extraSpec: Record<string, unknown> = {}): Promise<void> {
  const res = await kubeApi("POST", `/api/v1/namespaces/${NAMESPACE}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { "app.kubernetes.io/part-of": "pod-health-test" } },
    spec: { containers: [{ name: "envbuilder", image: "ghcr.io/coder/envbuilder:1.1.0" }], ...extraSpec },
  });
  assert.equal(res.status, 201, `creating pod ${name}: ${JSON.stringify(res.body)}`);
  created.push(name);
}

after(async () => {
  for (const name of created) await kubeApi("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${name}?gracePeriodSeconds=0`);
});

test("waitForPodReady resolves once kwok makes the pod Ready (credentials from KUBECONFIG)", async () => {
  const name = `env-ready-${suffix}`;
  await createPod(name);
  const started = Date.now();
  await waitForPodReady({ namespace: NAMESPACE, podName: name, timeoutMs: 60_000, kube: loadKubeCredentials() });
  assert.ok(Date.now() - started < 60_000);
  const pod = (await kubeApi("GET", `/api/v1/namespaces/${NAMESPACE}/pods/${name}`)).body as {
    status: { conditions: { type: string; status: string }[] };
  };
  assert.ok(pod.status.conditions.some((c) => c.type === "Ready" && c.status === "True"));
});

test("a pod that can never be scheduled times out naming its PodScheduled condition", async () => {
  const name = `env-unschedulable-${suffix}`;
  await createPod(name, { nodeSelector: { "mesh-six.test/no-such-node": "true" } });
  // Long enough for the scheduler to have tried and said why.
  await assert.rejects(
    waitForPodReady({ namespace: NAMESPACE, podName: name, timeoutMs: 4000, kube: loadKubeCredentials() }),
    (err: unknown) => {
      assert.ok(err instanceof PodNotReadyError, String(err));
      assert.match(err.message, new RegExp(`^pod ${NAMESPACE}/${name} not Ready after 4s: PodScheduled=False Unschedulable: .*node`));
      return true;
    },
  );
});

test("a pod that does not exist times out saying so", async () => {
  await assert.rejects(
    waitForPodReady({ namespace: NAMESPACE, podName: `env-missing-${suffix}`, timeoutMs: 1000, kube: loadKubeCredentials() }),
    /not Ready after 1s: the pod does not exist/,
  );
});

test("an abort stops the wait at once with the signal's reason", async () => {
  const name = `env-aborted-${suffix}`;
  await createPod(name, { nodeSelector: { "mesh-six.test/no-such-node": "true" } });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("cancelled by request")), 300);
  const started = Date.now();
  await assert.rejects(
    waitForPodReady({ namespace: NAMESPACE, podName: name, timeoutMs: 60_000, signal: controller.signal, kube: loadKubeCredentials() }),
    /cancelled by request/,
  );
  assert.ok(Date.now() - started < 5000);
});

test("credentials the API server rejects fail at once rather than waiting out the timeout", async () => {
  const kube = { ...loadKubeCredentials(), token: "not-a-valid-token", cert: undefined, key: undefined };
  const started = Date.now();
  await assert.rejects(
    waitForPodReady({ namespace: NAMESPACE, podName: "anything", timeoutMs: 30_000, kube }),
    /refused to show pod default\/anything \(HTTP 401\)/,
  );
  assert.ok(Date.now() - started < 5000);
});

test("an onboarding run checks the env pod named by its outputs: Ready succeeds, never Ready fails at step pod-health", async () => {
  const ready = `env-run-ready-${suffix}`;
  const stuck = `env-run-stuck-${suffix}`;
  await createPod(ready);
  await createPod(stuck, { nodeSelector: { "mesh-six.test/no-such-node": "true" } });
  const outputs = (pod: string) => ({ namespace: { value: NAMESPACE, secret: false }, envPodName: { value: pod, secret: false } });
  const runner = new ScriptedRunner().on("acme.ready", { outputs: outputs(ready) }).on("acme.stuck", { outputs: outputs(stuck) });
  const srv = await startTestServer({ runner, config: { podReadyTimeoutMs: 3000 } });
  try {
    const ok = await onboard(srv, { owner: "acme", repo: "ready" });
    const bad = await onboard(srv, { owner: "acme", repo: "stuck" });
    const succeeded = await waitForStatus(srv, ok.runId, "succeeded", 20_000);
    assert.equal(succeeded.outputs?.envPodName, ready);
    const failed = await waitForStatus(srv, bad.runId, "failed", 20_000);
    assert.equal(failed.failedStep, "pod-health");
    assert.match(failed.failureReason ?? "", new RegExp(`^pod ${NAMESPACE}/${stuck} not Ready after 3s: PodScheduled=False Unschedulable`));
  } finally {
    await srv.close();
  }
});

const createdSets: string[] = [];

after(async () => {
  for (const name of createdSets) await kubeApi("DELETE", `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets/${name}`);
});

/** A StatefulSet of `replicas` (0: its controller never creates the pod). */
async function createStatefulSet(name: string, replicas: number): Promise<void> {
  const labels = { "app.kubernetes.io/name": name };
  const res = await kubeApi("POST", `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`, {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, labels: { "app.kubernetes.io/part-of": "pod-health-test" } },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "envbuilder", image: "ghcr.io/coder/envbuilder:1.1.0" }] } },
    },
  });
  assert.equal(res.status, 201, `creating StatefulSet ${name}: ${JSON.stringify(res.body)}`);
  createdSets.push(name);
}

test("a StatefulSet that does not exist fails the wait at once, naming it (it was deleted: no pod will come)", async () => {
  const sts = `env-gone-${suffix}`;
  const started = Date.now();
  await assert.rejects(
    waitForPodReady({ namespace: NAMESPACE, podName: `${sts}-0`, statefulSetName: sts, timeoutMs: 60_000, kube: loadKubeCredentials() }),
    new RegExp(`StatefulSet ${NAMESPACE}/${sts} does not exist`),
  );
  assert.ok(Date.now() - started < 5000, `failed after ${Date.now() - started} ms, not at the 60 s timeout`);
});

test("a pod missing while its StatefulSet exists is waited for a short bounded time, then fails naming both", async () => {
  const sts = `env-nopod-${suffix}`;
  await createStatefulSet(sts, 0);
  const started = Date.now();
  await assert.rejects(
    waitForPodReady({
      namespace: NAMESPACE,
      podName: `${sts}-0`,
      statefulSetName: sts,
      timeoutMs: 60_000,
      missingPodTimeoutMs: 2000,
      kube: loadKubeCredentials(),
    }),
    new RegExp(`pod ${NAMESPACE}/${sts}-0 does not exist .*StatefulSet ${NAMESPACE}/${sts}`),
  );
  const took = Date.now() - started;
  assert.ok(took >= 2000 && took < 8000, `failed after ${took} ms: the short wait for a missing pod, not the 60 s timeout`);
});

test("an onboarding run whose StatefulSet is gone fails at pod-health at once, naming it", async () => {
  const ghost = `env-run-gone-${suffix}`;
  const outputs = {
    namespace: { value: NAMESPACE, secret: false },
    envPodName: { value: `${ghost}-0`, secret: false },
    envStatefulSet: { value: ghost, secret: false },
  };
  const srv = await startTestServer({ runner: new ScriptedRunner().on("acme.gone", { outputs }), config: { podReadyTimeoutMs: 60_000 } });
  try {
    const started = Date.now();
    const { runId } = await onboard(srv, { owner: "acme", repo: "gone" });
    const failed = await waitForStatus(srv, runId, "failed", 20_000);
    assert.equal(failed.failedStep, "pod-health");
    assert.match(failed.failureReason ?? "", new RegExp(`StatefulSet ${NAMESPACE}/${ghost} does not exist`));
    assert.ok(Date.now() - started < 15_000);
  } finally {
    await srv.close();
  }
});
