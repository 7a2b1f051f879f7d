import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import * as k8s from "@pulumi/kubernetes";
import { type EngineEvent, LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { PROJECT_DIR, selectRepoStack, selectStack, workspaceSettings } from "../../pulumi/workspace";

// `pulumi preview --policy-pack policies` through the Automation API, the real CLI and the project's own Node
// language host (which starts the pack with the SDK's run-policy-pack script), against the sandbox's API server.

const POLICY_PACK = path.join(PROJECT_DIR, "policies");
const stateDirs: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
// Creating platform-prod writes the test passphrase's salt into the project's own stack file: put it back after.
const stackFile = path.join(PROJECT_DIR, "Pulumi.platform-prod.yaml");
let stackFileText: string | undefined;

after(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  if (stackFileText !== undefined) await writeFile(stackFile, stackFileText);
  for (const dir of stateDirs) await rm(dir, { recursive: true, force: true });
});

async function testSettings() {
  const stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-policy-"));
  stateDirs.push(stateDir);
  const settings = workspaceSettings({ ...process.env, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: "test" });
  settings.envVars = { ...settings.envVars, PULUMI_CONFIG_PASSPHRASE: "test" };
  return settings;
}

/** Policy violations as the engine reports them, "<level> <policy>: <message>". */
function policyRecorder() {
  const seen: string[] = [];
  const onEvent = (event: EngineEvent) => {
    const p = event.policyEvent;
    if (p) seen.push(`${p.enforcementLevel} ${p.policyName}: ${p.message}`);
  };
  return { seen, onEvent };
}

/** Previews an inline program with the pack; the preview must fail. Returns what the policies reported. */
async function failingPreview(stackName: string, program: () => Promise<void>, settings: Awaited<ReturnType<typeof testSettings>>) {
  const stack = await LocalWorkspace.createOrSelectStack(
    { projectName: "mesh-six-policy-test", stackName, program },
    {
      envVars: settings.envVars,
      pulumiCommand: settings.pulumiRoot ? await PulumiCommand.get({ root: settings.pulumiRoot }) : undefined,
    },
  );
  cleanups.push(() => stack.workspace.removeStack(stackName, { force: true }));
  const { seen, onEvent } = policyRecorder();
  let output = "";
  await assert.rejects(stack.preview({ policyPacks: [POLICY_PACK], onEvent, onOutput: (o) => (output += o) }), (err: Error) => {
    output += err.message;
    return true;
  });
  return { seen, output };
}

function assertReported(seen: string[], expected: [string, RegExp][]) {
  for (const [policy, message] of expected) {
    assert.ok(
      seen.some((s) => s.startsWith(`${policy}:`) && message.test(s)),
      `${policy} ${message}; saw:\n${seen.join("\n")}`,
    );
  }
}

test("the platform-prod preview passes every policy of the pack", async () => {
  stackFileText = await readFile(stackFile, "utf8");
  const stack: Stack = await selectStack("platform-prod", await testSettings());
  cleanups.push(() => stack.workspace.removeStack("platform-prod", { force: true, preserveConfig: true }));
  const { seen, onEvent } = policyRecorder();
  let output = "";
  const result = await stack.preview({ policyPacks: [POLICY_PACK], onEvent, onOutput: (o) => (output += o) });

  assert.deepEqual(seen, []);
  assert.match(output, /mesh-six@v\S+ \(local: .*policies\)/);
  assert.ok((result.changeSummary.create ?? 0) > 20, JSON.stringify(result.changeSummary));
});

test("a repo stack's preview passes every policy of the pack", async () => {
  const ref = { owner: "mesh-six-sandbox", repo: `policies.${Date.now().toString(36)}` };
  const stack = await selectRepoStack(
    { ...ref, displayName: "Policies", serverUrl: "http://127.0.0.1:8080", authProjectId: "auth-proj-1" },
    await testSettings(),
  );
  cleanups.push(() => stack.workspace.removeStack(stack.name, { force: true }));
  const { seen, onEvent } = policyRecorder();
  let output = "";
  await stack.preview({ policyPacks: [POLICY_PACK], onEvent, onOutput: (o) => (output += o) });

  assert.deepEqual(seen, []);
  assert.match(output, /mesh-six@v\S+ \(local: .*policies\)/);
});

test("a stack with latest images, no limits, wildcard cluster RBAC and a literal password fails the preview", async () => {
  const settings = await testSettings();
  const stackName = "policy-test.bad-stack"; // owner.repo: a repo stack, where cluster RBAC is refused too
  const program = async () => {
    new k8s.apps.v1.Deployment("bad-web", {
      metadata: { name: "bad-web", namespace: "default" },
      spec: {
        selector: { matchLabels: { app: "bad-web" } },
        template: {
          metadata: { labels: { app: "bad-web" } },
          spec: { containers: [{ name: "web", image: "nginx:latest", env: [{ name: "PASSWORD", value: "hunter2" }] }] },
        },
      },
    });
    new k8s.rbac.v1.ClusterRole("bad-admin", {
      metadata: { name: "bad-admin" },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    });
  };
  const { seen, output } = await failingPreview(stackName, program, settings);

  const expected: [string, RegExp][] = [
    ["advisory image-pinned", /bad-web \(urn:pulumi:policy-test\.bad-stack::.*\).*"nginx:latest" runs the moving tag latest/],
    ["mandatory container-resources", /bad-web .*"web" has no resources requests\.cpu, requests\.memory, limits\.cpu, limits\.memory/],
    ["mandatory no-literal-secret-env", /bad-web .*"web" sets PASSWORD to a literal value\. Fix: use valueFrom/],
    ["mandatory rbac-no-wildcards", /bad-admin .*rules\[0\]\.verbs contains "\*"/],
    ["mandatory no-cluster-rbac-in-repo-stacks", /repo stack "policy-test\.bad-stack" declares a ClusterRole\./],
  ];
  assertReported(seen, expected);
  assert.match(output, /mandatory\]\s+rbac-no-wildcards/);
  assert.ok(!seen.join("\n").includes("hunter2"), "violations never repeat the secret");
  console.log(seen.join("\n"));
});

test("a prod stack with an unpinned ReplicationController, a literal DB_PASSWD and a ClusterRoleBinding to cluster-admin fails the preview", async () => {
  // Kinds and spellings the pack used to let through: a ReplicationController's pod spec, an env name the old
  // pattern did not know, an empty tag, and a binding (not a role) that grants everything.
  const settings = await testSettings();
  const stackName = "policy-test-prod"; // no dot: a platform stack, made prod by its namespace label
  const program = async () => {
    new k8s.core.v1.Namespace("prod-ns", {
      metadata: { name: "policy-test-prod", labels: { "mesh-six.dev/environment": "prod" } },
    });
    new k8s.core.v1.ReplicationController("bad-rc", {
      metadata: { name: "bad-rc", namespace: "default" },
      spec: {
        selector: { app: "bad-rc" },
        template: {
          metadata: { labels: { app: "bad-rc" } },
          spec: {
            initContainers: [
              {
                name: "init",
                image: "busybox:",
                resources: { requests: { cpu: "10m", memory: "8Mi" }, limits: { cpu: "10m", memory: "8Mi" } },
              },
            ],
            containers: [
              {
                name: "web",
                image: "nginx:1.27",
                env: [{ name: "DB_PASSWD", value: "hunter2" }],
                resources: { requests: { cpu: "10m", memory: "8Mi" }, limits: { cpu: "10m", memory: "8Mi" } },
              },
            ],
          },
        },
      },
    });
    new k8s.rbac.v1.ClusterRoleBinding("bad-binding", {
      metadata: { name: "bad-binding" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "default", namespace: "default" }],
    });
  };
  const { seen, output } = await failingPreview(stackName, program, settings);

  assertReported(seen, [
    [
      "mandatory image-pinned-in-prod",
      /bad-rc \(urn:pulumi:policy-test-prod::.*ReplicationController::bad-rc\).*"busybox:" has an empty tag/,
    ],
    ["mandatory no-literal-secret-env", /bad-rc .*"web" sets DB_PASSWD to a literal value/],
    ["mandatory rbac-no-wildcards", /bad-binding .*binds the ClusterRole cluster-admin/],
  ]);
  assert.ok(!seen.some((s) => s.includes("no-cluster-rbac-in-repo-stacks")), "a platform stack may declare cluster RBAC");
  assert.match(output, /mandatory\]\s+image-pinned-in-prod/);
  assert.ok(!seen.join("\n").includes("hunter2"), "violations never repeat the secret");
  console.log(seen.join("\n"));
});
