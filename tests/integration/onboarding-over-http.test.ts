import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { runFinished, type ServerProcess, startServerProcess, TSX_LOADER } from "../../testkit/server-process";
import { k8sNameFor } from "../../domain/names";
import { type TestDatabase, createTestDatabase } from "../../testkit/database";
import { emulator } from "../../testkit/github-emulator";
import { kubeApi } from "../../testkit/kube-api";
import { waitFor } from "../../testkit/server";

// The server as users run it (server/main.ts, the real Pulumi runner) onboarding and offboarding a repo over HTTP,
// with the policy pack guarding its update and the findings kept on the run record.

const ref = { owner: "mesh-six-sandbox", repo: `http-${Date.now().toString(36)}` };
let stateDir: string;
let db: TestDatabase;
let server: ServerProcess;
let SERVER_ENV: Record<string, string>;

before(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-http-"));
  db = await createTestDatabase("http_onboarding");
  assert.equal(
    (await emulator("POST", "/_emulator/repos", { owner: ref.owner, name: ref.repo, owner_type: "Organization", auto_init: true })).status,
    201,
  );
  SERVER_ENV = {
    DATABASE_URL: db.url,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: "http-test-passphrase",
    // GitHub must reach the webhook: the policy pack refuses one that is neither https nor loopback.
    MESH_SIX_PUBLIC_URL: "https://mesh-six.example.test",
  };
  server = await startServerProcess({ env: { ...SERVER_ENV, MESH_SIX_POLL_MS: "200" } });
});

after(async () => {
  await server?.stop();
  await db?.drop();
  await rm(stateDir, { recursive: true, force: true });
});

test(
  "an onboarding over HTTP brings the stack up under the policy pack and keeps what it found on the run",
  { timeout: 6 * 60_000 },
  async () => {
    const res = await server.request("/v1/onboardings", { method: "POST", json: { ...ref, skipAuth: true } });
    assert.equal(res.status, 202);
    const run = await runFinished(server, ((await res.json()) as { runId: string }).runId);
    assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason} ${JSON.stringify(run.policy)}`);
    assert.ok((run.changeSummary?.create ?? 0) > 0, "resources were created");
    // The CLI keys a local pack as "<name>|local|<path>".
    assert.ok(
      Object.keys(run.policy?.packs ?? {}).some((k) => k.split("|")[0] === "mesh-six"),
      `the mesh-six pack ran: ${JSON.stringify(run.policy)}`,
    );
    assert.deepEqual(run.policy?.violations, []);
    const sts = await kubeApi("GET", `/apis/apps/v1/namespaces/mesh-six/statefulsets/${k8sNameFor(ref)}`);
    assert.equal(sts.status, 200);
  },
);

test(
  "a preview from the CLI of the repo the server onboarded shows no changes: both build the same stack input",
  { timeout: 4 * 60_000 },
  async () => {
    // The CLI as a user runs it against the server's database and state backend, with the server's public URL.
    const cli = spawnSync(
      process.execPath,
      ["--import", TSX_LOADER, path.resolve(__dirname, "../../cli/onboard.ts"), `${ref.owner}/${ref.repo}`, "--preview"],
      {
        env: { ...process.env, ...SERVER_ENV },
        encoding: "utf8",
        timeout: 3 * 60_000,
      },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const result = JSON.parse(cli.stdout) as { kind: string; changeSummary: Record<string, number> };
    assert.equal(result.kind, "preview");
    const changes = Object.fromEntries(Object.entries(result.changeSummary).filter(([op, n]) => op !== "same" && n > 0));
    assert.deepEqual(changes, {}, `the CLI's preview proposes changes:\n${cli.stderr}`);
    assert.ok((result.changeSummary.same ?? 0) > 0);
  },
);

test("a drift check finds an object deleted behind the stack's back, and the registry says so", { timeout: 4 * 60_000 }, async () => {
  const name = k8sNameFor(ref);
  assert.equal((await kubeApi("DELETE", `/api/v1/namespaces/mesh-six/services/${name}`)).status, 200);
  const res = await server.request(`/v1/repos/${ref.owner}/${ref.repo}/drift-check`, { method: "POST" });
  assert.equal(res.status, 202);
  const run = await runFinished(server, ((await res.json()) as { runId: string }).runId);
  assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
  assert.ok((run.changeSummary?.delete ?? 0) >= 1, JSON.stringify(run.changeSummary));
  await waitFor(
    async () => {
      const { rows } = await db.pool.query("SELECT drift_status FROM repo_registry WHERE owner = $1 AND repo = $2", [ref.owner, ref.repo]);
      return rows[0]?.drift_status === "drifted";
    },
    "the registry to say drifted",
    30_000,
    200,
  );
  // Preview-only: the state still holds the Service, so the next update puts it back.
  assert.equal((await kubeApi("GET", `/api/v1/namespaces/mesh-six/services/${name}`)).status, 404);
});

test("offboarding over HTTP destroys the stack and its objects", { timeout: 6 * 60_000 }, async () => {
  const res = await server.request(`/v1/repos/${ref.owner}/${ref.repo}`, { method: "DELETE" });
  assert.equal(res.status, 202);
  const run = await runFinished(server, ((await res.json()) as { runId: string }).runId);
  assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
  assert.equal((await kubeApi("GET", `/apis/apps/v1/namespaces/mesh-six/statefulsets/${k8sNameFor(ref)}`)).status, 404);
  const logs = server.logs.join("\n");
  assert.ok(!logs.includes(server.token) && !logs.includes("http-test-passphrase"), "no secret in the server's logs");
});
