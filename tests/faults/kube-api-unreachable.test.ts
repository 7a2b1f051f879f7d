import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import {
  createEmulatorRepo,
  firstLine,
  type FaultServer,
  startFaultServer,
  TERMINAL,
  timeBudget,
  uniqueOwner,
} from "../../testkit/fault-server";
import { startTcpProxy, type TcpProxy } from "../../testkit/tcp-proxy";

const TIMEOUT_MS = 600_000;

// The server and its Pulumi runs reach the sandbox's kube-apiserver only through a proxy, which is cut while
// `up` is creating Kubernetes objects: the run must fail, saying where, within the test's bound; once the API
// server is back, onboarding again must converge.

/** A proxy in front of the sandbox's apiserver, and a copy of $KUBECONFIG pointing at it (the certificate names 127.0.0.1). */
async function proxiedKubeconfig(dir: string): Promise<{ file: string; proxy: TcpProxy }> {
  const source = process.env.KUBECONFIG;
  if (!source) throw new Error("KUBECONFIG not set: start the sandbox and source .sandbox/env");
  const doc = YAML.parse(await readFile(source, "utf8")) as { clusters: { cluster: { server: string } }[] };
  const server = new URL(doc.clusters[0].cluster.server);
  const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 443) });
  for (const c of doc.clusters) c.cluster.server = `https://${proxy.address}`;
  const file = path.join(dir, "kubeconfig");
  await writeFile(file, YAML.stringify(doc), { mode: 0o600 });
  return { file, proxy };
}

test(
  "the API server unreachable during up: the run fails naming the step, and onboarding again converges",
  { timeout: TIMEOUT_MS },
  async () => {
    const started = Date.now();
    const left = timeBudget(TIMEOUT_MS);
    const ref = { owner: uniqueOwner("kube"), repo: "widgets" };
    await createEmulatorRepo(ref);
    const dir = await mkdtemp(path.join(tmpdir(), "mesh-six-fault-kube-"));
    let proxy: TcpProxy | undefined;
    let fs: FaultServer | undefined;
    try {
      const proxied = await proxiedKubeconfig(dir);
      proxy = proxied.proxy;
      fs = await startFaultServer({ env: { KUBECONFIG: proxied.file } });

      const first = await fs.onboard(ref);
      assert.equal(first.status, 202);
      const runId = first.runId!;
      await fs.waitForEvent(
        runId,
        "up to start creating a Kubernetes object",
        (e) => e.type === "resource" && e.data.phase === "pre" && String(e.data.resourceType).startsWith("kubernetes:"),
        left(),
      );
      const through = proxy.connections();
      proxy.cut();

      const failed = await fs.waitForRun(runId, TERMINAL, left());
      assert.equal(failed.status, "failed");
      assert.equal(failed.failedStep, "up");
      assert.match(failed.failureReason ?? "", /kubernetes/i, "the reason names what could not be reached");
      assert.ok(through > 0, "the run did reach the API server through the proxy before the cut");

      proxy.restore();
      const second = await fs.onboard(ref);
      assert.equal(second.status, 202);
      const again = await fs.waitForRun(second.runId!, TERMINAL, left());
      assert.equal(again.status, "succeeded", `${again.failedStep}: ${again.failureReason}`);
      assert.deepEqual(await fs.checkStack(ref), { changes: {}, pendingOperations: 0 });

      const { ledger, leaks } = await fs.report(
        {
          fault: "Kubernetes API server unreachable during up",
          injected:
            "every connection to the kube-apiserver (through a loopback proxy) dropped and new ones refused once up started creating Kubernetes objects",
          outcome: `run failed at ${failed.failedStep} (${firstLine(failed.failureReason)}); after the API server came back, onboarding again succeeded with a consistent stack`,
          durationMs: Date.now() - started,
        },
        [ref],
      );
      assert.deepEqual(ledger, { accepted: 2, accounted: 2 });
      assert.deepEqual(leaks, []);
    } finally {
      proxy?.restore();
      await fs?.cleanup([ref]);
      await proxy?.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
