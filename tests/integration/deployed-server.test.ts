import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { postgresStateUrl } from "../../pulumi/state-backend";
import { PROJECT_DIR, removeStack, selectStack, type WorkspaceSettings, workspaceSettings } from "../../pulumi/workspace";
import { DatabaseStackSettings } from "../../db/stack-settings";
import { k8sNameFor, stackNameFor } from "../../domain/names";
import { createTestDatabase, type TestDatabase } from "../../testkit/database";
import {
  type DeclaredContainer,
  type DeclaredPod,
  readDeclaredServer,
  serviceAccountKubeconfig,
  startDeclaredPod,
} from "../../testkit/declared-server";
import { emulator } from "../../testkit/github-emulator";
import { logMessages } from "../../testkit/log-capture";
import { kubeApi } from "../../testkit/kube-api";
import type { RunBody } from "../../testkit/server";
import { runFinished } from "../../testkit/server-process";
import { deleteVaultSecret, writeVaultSecret } from "../../testkit/vault-api";

// The deployment as declared, and the control plane with no state of its own: the platform stack is brought up
// against the sandbox, the server's container is started exactly as that Deployment declares it (see
// testkit/declared-server.ts), onboards a repo with its own ServiceAccount, is SIGKILLed and started again as
// a new pod in new empty directories, and finds everything where the database says; the CLI sees the same stack.

const exec = promisify(execFile);
const suffix = randomBytes(3).toString("hex");
const namespace = `it-deploy-${suffix}`;
const vaultBase = `mesh-six/it-${suffix}`;
const ref = { owner: "mesh-six-sandbox", repo: `deployed-${suffix}` };
const stackName = stackNameFor(ref);
let db: TestDatabase;
let platformSettings: WorkspaceSettings;
let platform: Stack | undefined;
let declared: DeclaredContainer;
let kubeconfigDir: string;
let kubeconfig: string;
const pods: DeclaredPod[] = [];
// The image's HOME, a path of the pod's volume: the test checks none of it lands on this machine.
const homeExistedBefore = existsSync("/home/mesh-six");

/** The ids of a finished run's events (its stream ends when the run is terminal). */
async function eventIds(pod: DeclaredPod, runId: string): Promise<string[]> {
  const text = await (await pod.server.request(`/v1/runs/${runId}/events`)).text();
  return [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
}

async function onboard(pod: DeclaredPod, extra: Record<string, unknown> = {}): Promise<RunBody> {
  const res = await pod.server.request("/v1/onboardings", { method: "POST", json: { ...ref, skipAuth: true, ...extra } });
  assert.equal(res.status, 202, await res.clone().text());
  return runFinished(pod.server, ((await res.json()) as { runId: string }).runId);
}

before(async () => {
  db = await createTestDatabase("deployed");
  const admin = new URL(process.env.DATABASE_URL!);
  await writeVaultSecret(`${vaultBase}/platform`, {
    PG_USER: decodeURIComponent(admin.username),
    PG_PASSWORD: decodeURIComponent(admin.password),
    GITHUB_TOKEN: process.env.GITHUB_TOKEN!,
    VAULT_TOKEN: process.env.VAULT_TOKEN!,
  });
  await writeVaultSecret(`${vaultBase}/onboarding-server`, { MESH_SIX_API_TOKENS: randomBytes(24).toString("base64url") });
  assert.equal(
    (await emulator("POST", "/_emulator/repos", { owner: ref.owner, name: ref.repo, owner_type: "Organization", auto_init: true })).status,
    201,
  );

  // The platform stack's own state goes to the test database too: nothing is written into the project.
  platformSettings = workspaceSettings(
    {
      ...process.env,
      PULUMI_BACKEND_URL: undefined,
      DATABASE_URL: db.url,
      MESH_SIX_SECRETS_PROVIDER: "passphrase",
      PULUMI_CONFIG_PASSPHRASE: "it",
    },
    { stackSettings: new DatabaseStackSettings(db.pool) },
  );
  platform = await selectStack("platform-dev", platformSettings);
  const database = new URL(db.url);
  await platform.setAllConfig({
    "mesh-six:kind": { value: "platform" },
    "mesh-six:namespace": { value: namespace },
    "mesh-six:vaultPath": { value: `${vaultBase}/platform` },
    "mesh-six:server": {
      value: JSON.stringify({
        // GitHub (the emulator) never calls it; the policy pack and the server both want https.
        publicUrl: "https://mesh-six.example.test",
        databaseUrl: `postgres://${database.host}${database.pathname}?sslmode=disable`,
        vaultAddr: process.env.VAULT_ADDR,
        githubApiUrl: process.env.GITHUB_API_URL,
        secretsProvider: process.env.MESH_SIX_SANDBOX_SECRETS_PROVIDER,
        vaultPath: `${vaultBase}/onboarding-server`,
        shutdownGraceSeconds: 20,
      }),
    },
  });
  const up = await platform.up({ onOutput: () => undefined });
  assert.ok((up.summary.resourceChanges?.create ?? 0) > 0);
  declared = await readDeclaredServer(namespace);
  kubeconfigDir = mkdtempSync(path.join(tmpdir(), "mesh-six-sa-"));
  kubeconfig = await serviceAccountKubeconfig(declared, kubeconfigDir);
});

after(async () => {
  for (const pod of pods) {
    await pod.server.kill();
    for (const dir of pod.dirs) rmSync(dir, { recursive: true, force: true });
  }
  if (platform)
    await platform
      .destroy({ onOutput: () => undefined })
      .then(() => removeStack(platform!, platformSettings))
      .catch(() => undefined);
  await deleteVaultSecret(`${vaultBase}/platform`).catch(() => undefined);
  await deleteVaultSecret(`${vaultBase}/onboarding-server`).catch(() => undefined);
  if (kubeconfigDir) rmSync(kubeconfigDir, { recursive: true, force: true });
  await db?.drop();
});

test(
  "the server's container, started as declared, onboards a repo with its own ServiceAccount and keeps nothing on its disk",
  { timeout: 8 * 60_000 },
  async (t) => {
    const env = declared.container.env as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
    t.diagnostic(
      `declared env: ${env.map((e) => (e.valueFrom?.secretKeyRef ? `${e.name}=<secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}>` : e.valueFrom ? `${e.name}=<${Object.keys(e.valueFrom)[0]}>` : e.name)).join(" ")}`,
    );
    const first = await startDeclaredPod(declared, kubeconfig);
    pods.push(first);
    const stateLine = logMessages(first.server.logs).find((l) => l.startsWith("state: "));
    t.diagnostic(`first pod: ${stateLine}`);
    assert.match(
      stateLine ?? "",
      /^state: postgres:\/\/.*table=pulumi_state.* \(from DATABASE_URL\); secrets: hashivault:\/\/mesh-six-state \(from MESH_SIX_SECRETS_PROVIDER\)/,
    );

    const run = await onboard(first);
    assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
    assert.equal(run.kind, "onboard");
    assert.equal(
      (await kubeApi("GET", `/apis/apps/v1/namespaces/${namespace}/statefulsets/${k8sNameFor(ref)}`)).status,
      200,
      "the repo's environment is in the server's namespace",
    );
    const events = await eventIds(first, run.id);
    assert.ok(events.length > 10, `${events.length} events`);

    assert.equal(
      first.server.logs.some((l) => l.includes(first.env.PGPASSWORD) || l.includes(first.env.MESH_SIX_API_TOKENS)),
      false,
      "no secret in the log",
    );
    assert.equal(existsSync(path.join(PROJECT_DIR, `Pulumi.${stackName}.yaml`)), false, "nothing written into the project");
    if (!homeExistedBefore)
      assert.equal(existsSync("/home/mesh-six"), false, "the image's HOME is the pod's volume, not a path on this machine");
    const { rows } = await db.pool.query<{ settings: string }>("SELECT settings FROM stack_settings WHERE stack_name = $1", [stackName]);
    assert.match(rows[0]?.settings ?? "", /secretsprovider: hashivault:\/\/mesh-six-state/);
    assert.match(rows[0].settings, /encryptedkey: /);

    // A pod dies where it stands; its directories go with it.
    await first.server.kill();
    for (const dir of first.dirs) rmSync(dir, { recursive: true, force: true });

    const second = await startDeclaredPod(declared, kubeconfig);
    pods.push(second);
    t.diagnostic(`second pod: ${logMessages(second.server.logs).find((l) => l.startsWith("state: "))}`);
    const repo = (await (await second.server.request(`/v1/repos/${ref.owner}/${ref.repo}`)).json()) as {
      registry: unknown;
      lastRun: { id: string };
    };
    assert.ok(repo.registry, "the repo is still onboarded");
    const again = (await (await second.server.request(`/v1/runs/${run.id}`)).json()) as RunBody;
    assert.equal(again.status, "succeeded", "its history is intact");
    assert.deepEqual(await eventIds(second, run.id), events, "every event of the first pod's run is still there");

    // Forced: an identical update would be up-to-date without Pulumi, and this one is to show the new pod runs the stack.
    const update = await onboard(second, { force: true });
    assert.equal(update.status, "succeeded", `${update.failedStep}: ${update.failureReason}`);
    assert.equal(update.kind, "update");
    assert.equal(update.outcome, "applied");
    const changed = Object.entries(update.changeSummary ?? {}).filter(([op, n]) => op !== "same" && n > 0);
    assert.deepEqual(changed, [], `a no-op update changes nothing: ${JSON.stringify(update.changeSummary)}`);
  },
);

test("the CLI sees the same stack, its history and its outputs, with the same URL", { timeout: 2 * 60_000 }, async (t) => {
  const admin = new URL(process.env.DATABASE_URL!);
  const cliEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: postgresStateUrl(`postgres://${admin.username}@${new URL(db.url).host}${new URL(db.url).pathname}`),
    PGPASSWORD: decodeURIComponent(admin.password),
    VAULT_SERVER_URL: process.env.VAULT_ADDR,
    VAULT_SERVER_TOKEN: process.env.VAULT_TOKEN,
  };
  const cwd = mkdtempSync(path.join(tmpdir(), "mesh-six-cli-"));
  try {
    const ls = await exec("pulumi", ["stack", "ls", "--all", "--json"], { env: cliEnv, cwd });
    t.diagnostic(`pulumi stack ls --all: ${ls.stdout.replace(/\s+/g, " ")}`);
    const stacks = JSON.parse(ls.stdout) as { name: string }[];
    assert.ok(
      stacks.some((s) => s.name.endsWith(stackName)),
      ls.stdout,
    );
    const fq = `organization/mesh-six/${stackName}`;
    const history = JSON.parse((await exec("pulumi", ["stack", "history", "--json", "-s", fq], { env: cliEnv, cwd })).stdout) as {
      kind: string;
      result: string;
    }[];
    assert.deepEqual(
      history.map((h) => `${h.kind}:${h.result}`),
      ["update:succeeded", "update:succeeded"],
    );
    const outputs = JSON.parse((await exec("pulumi", ["stack", "output", "--json", "-s", fq], { env: cliEnv, cwd })).stdout) as Record<
      string,
      unknown
    >;
    assert.equal(outputs.namespace, namespace);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test("a declaration missing a variable the server needs fails with the server's own error naming it", { timeout: 3 * 60_000 }, async () => {
  for (const [variable, change] of [
    ["DATABASE_URL", { DATABASE_URL: undefined }],
    ["MESH_SIX_SECRETS_PROVIDER", { MESH_SIX_SECRETS_PROVIDER: undefined }],
    ["MESH_SIX_PUBLIC_URL", { MESH_SIX_PUBLIC_URL: undefined }],
    ["VAULT_TOKEN", { VAULT_TOKEN: undefined }],
    ["MESH_SIX_RUN_CONCURRENCY", { MESH_SIX_RUN_CONCURRENCY: "0" }],
  ] as const) {
    const broken = structuredClone(declared);
    broken.container.env = (declared.container.env as { name: string; value?: string }[])
      .filter((e) => !(e.name in change) || (change as Record<string, string | undefined>)[e.name] !== undefined)
      .map((e) => (e.name in change ? { name: e.name, value: (change as Record<string, string>)[e.name] } : e));
    await assert.rejects(startDeclaredPod(broken, kubeconfig), (err: Error) => {
      assert.match(err.message, new RegExp(`configuration: ${variable}: `), err.message);
      return true;
    });
  }
});

test("offboarding through the redeployed server removes the repo", { timeout: 4 * 60_000 }, async () => {
  const pod = pods[pods.length - 1];
  const res = await pod.server.request(`/v1/repos/${ref.owner}/${ref.repo}`, { method: "DELETE" });
  assert.equal(res.status, 202);
  const run = await runFinished(pod.server, ((await res.json()) as { runId: string }).runId);
  assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
  assert.equal((await kubeApi("GET", `/apis/apps/v1/namespaces/${namespace}/statefulsets/${k8sNameFor(ref)}`)).status, 404);
  const { rows } = await db.pool.query("SELECT 1 FROM stack_settings WHERE stack_name = $1", [stackName]);
  assert.equal(rows.length, 0, "its settings went with the stack");
});
