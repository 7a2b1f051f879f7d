import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { k8sNameFor, stackNameFor } from "../../domain/names";
import { type FaultServer, startFaultServer, TERMINAL } from "../../testkit/fault-server";
import { kubeApi } from "../../testkit/kube-api";
import { type OwnGitHub, startOwnGitHub } from "../../testkit/own-github-emulator";

// The server as deployed (server/main.ts, the real runner) refusing onboardings at their first step, `validate`,
// for each thing GitHub says is missing, before any stack, resource or webhook exists. The emulator is the test's
// own, so the token's scopes can be changed between onboardings without touching anyone else's.

const owner = `validate-${Date.now().toString(36)}`;
const saved = { ...process.env };
let gh: OwnGitHub;
let fs: FaultServer;
let stateDir: string;

before(async () => {
  gh = await startOwnGitHub();
  Object.assign(process.env, gh.env);
  await gh.createRepo({ owner, repo: "widgets" });
  await gh.createRepo({ owner, repo: "old" }, { archived: true });
  await gh.createRepo({ owner, repo: "empty" }, { auto_init: false });
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-validate-state-"));
  fs = await startFaultServer({ env: { PULUMI_BACKEND_URL: `file://${stateDir}`, MESH_SIX_GITHUB_RETRIES: "0" } });
});

after(async () => {
  await fs?.cleanup([]);
  await gh?.close();
  await rm(stateDir, { recursive: true, force: true });
  process.env = saved;
});

const cases: { what: string; repo: string; token: Record<string, unknown>; reason: string }[] = [
  {
    what: "a classic token without admin:repo_hook",
    repo: "widgets",
    token: { scopes: ["project", "public_repo"] },
    reason: `token lacks admin:repo_hook on ${owner}/widgets`,
  },
  {
    what: "a classic token without project",
    repo: "widgets",
    token: { scopes: ["repo"] },
    reason: `token lacks project on ${owner} (to manage its Projects)`,
  },
  {
    what: "a fine-grained token without admin on the repository",
    repo: "widgets",
    token: { scopes: null, permissions: { admin: false } },
    reason: `token lacks admin access to ${owner}/widgets (to manage its webhooks)`,
  },
  { what: "an archived repository", repo: "old", token: {}, reason: `${owner}/old is archived (read-only): unarchive it to onboard it` },
  {
    what: "a repository without its default branch",
    repo: "empty",
    token: {},
    reason: `default branch main of ${owner}/empty does not exist (an empty repository has no branch: push a first commit)`,
  },
  {
    what: "a repository that does not exist",
    repo: "absent",
    token: {},
    reason: `repository ${owner}/absent does not exist or the token cannot see it`,
  },
];

for (const c of cases) {
  test(`${c.what}: the onboarding fails at validate, naming it, and nothing is created`, { timeout: 60_000 }, async () => {
    await gh.setToken(c.token);
    const ref = { owner, repo: c.repo };
    const accepted = await fs.onboard(ref);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const run = await fs.waitForRun(accepted.runId!, TERMINAL, 45_000);
    assert.equal(run.status, "failed");
    assert.equal(run.failedStep, "validate");
    assert.equal(run.failureReason, c.reason);
    const steps = (await fs.events(accepted.runId!)).filter((e) => e.type === "step").map((e) => e.data.step);
    assert.deepEqual(steps, ["validate"], "no step after validate ran");

    // Nothing of the stack: no config written, no state, no Kubernetes object, no webhook, board or registry row.
    const settings = await fs.pool.query("SELECT 1 FROM stack_settings WHERE stack_name = $1", [stackNameFor(ref)]);
    assert.equal(settings.rowCount, 0, "no stack settings were written");
    const stacks = await readdir(path.join(stateDir, ".pulumi", "stacks"), { recursive: true }).catch(() => []);
    assert.deepEqual(stacks, [], "no stack exists in the state backend");
    assert.equal((await kubeApi("GET", `/apis/apps/v1/namespaces/mesh-six/statefulsets/${k8sNameFor(ref)}`)).status, 404);
    const world = (await gh.control<{ repos: Record<string, { hooks: unknown[] }>; projects: object }>("GET", "/_emulator/state")).body;
    assert.deepEqual(
      Object.values(world.repos).flatMap((r) => r.hooks),
      [],
      "no webhook was created",
    );
    assert.deepEqual(world.projects, {}, "no project board was created");
    const registry = await fs.pool.query("SELECT 1 FROM repo_registry WHERE owner = $1", [owner]);
    assert.equal(registry.rowCount, 0);
  });
}

test("the server's logs and the runs' events hold neither token", async () => {
  const lines = await fs.logLines();
  assert.ok(lines.length > 0);
  assert.deepEqual(
    lines.filter((l) => l.includes(gh.token) || l.includes(fs.server.token)),
    [],
  );
});
