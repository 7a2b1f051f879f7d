import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { repoAccessProblems } from "../../clients/github-access";
import type { RunRecord } from "../../domain/runs";
import { RunStepError } from "../../domain/runs";
import { type GitHubEmulator, startGitHubEmulator } from "../../emulators/github/server";
import { createGitHubOctokit } from "../../lib/github-octokit";
import { githubRepoValidator } from "../../runs/validate";

// The `validate` step's checks against the emulator answering as GitHub would for each thing that is missing.

const ADMIN = "repo-access-admin-token";
let emu: GitHubEmulator;

async function control(p: string, body: unknown): Promise<void> {
  const res = await fetch(`${emu.url}${p}`, {
    method: "POST",
    headers: { authorization: `token ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, `${p}: ${await res.text()}`);
}

before(async () => {
  emu = await startGitHubEmulator({ port: 0, token: ADMIN });
  await control("/_emulator/repos", { owner: "acme", name: "widgets", auto_init: true, owner_type: "Organization" });
  await control("/_emulator/repos", { owner: "acme", name: "secret", auto_init: true, private: true });
  await control("/_emulator/repos", { owner: "acme", name: "old", auto_init: true, archived: true });
  await control("/_emulator/repos", { owner: "acme", name: "empty" });
  await control("/_emulator/tokens", { token: "classic-repo-only", scopes: ["repo"] });
  await control("/_emulator/tokens", { token: "classic-no-hooks", scopes: ["project", "public_repo"] });
  await control("/_emulator/tokens", { token: "fine-grained-writer", scopes: null, permissions: { admin: false } });
  await control("/_emulator/tokens", { token: "fine-grained-admin", scopes: null });
});

after(() => emu?.close());

const problems = (token: string, repo: string) =>
  repoAccessProblems(createGitHubOctokit({ token, baseUrl: emu.url, retries: 0 }), { owner: "acme", repo });

test("a repository with its default branch, and a token with the scopes and access, has nothing missing", async () => {
  assert.deepEqual(await problems(ADMIN, "widgets"), []);
  assert.deepEqual(await problems("fine-grained-admin", "widgets"), [], "a fine-grained token is judged by its permissions");
});

test("each thing missing is named, with the repository", async () => {
  assert.deepEqual(await problems(ADMIN, "nope"), ["repository acme/nope does not exist or the token cannot see it"]);
  assert.deepEqual(await problems(ADMIN, "old"), ["acme/old is archived (read-only): unarchive it to onboard it"]);
  assert.deepEqual(await problems(ADMIN, "empty"), [
    "default branch main of acme/empty does not exist (an empty repository has no branch: push a first commit)",
  ]);
  assert.deepEqual(await problems("classic-repo-only", "widgets"), ["token lacks project on acme (to manage its Projects)"]);
  assert.deepEqual(await problems("classic-no-hooks", "widgets"), ["token lacks admin:repo_hook on acme/widgets"]);
  assert.deepEqual(await problems("classic-no-hooks", "secret"), [
    "token lacks admin:repo_hook on acme/secret",
    "token lacks repo on acme/secret (to write its contents)",
  ]);
  assert.deepEqual(await problems("fine-grained-writer", "widgets"), ["token lacks admin access to acme/widgets (to manage its webhooks)"]);
});

test("the validator fails the run at step validate with every reason, and without the token", async () => {
  const validate = githubRepoValidator({ GITHUB_API_URL: emu.url, GITHUB_TOKEN: "classic-no-hooks", MESH_SIX_GITHUB_RETRIES: "0" });
  const run = { kind: "onboard", owner: "acme", repo: "secret" } as RunRecord;
  const err = await validate(run, new AbortController().signal).catch((e: unknown) => e);
  assert.ok(err instanceof RunStepError);
  assert.equal(err.step, "validate");
  assert.equal(err.reason, "token lacks admin:repo_hook on acme/secret; token lacks repo on acme/secret (to write its contents)");
  await validate({ ...run, repo: "widgets" }, new AbortController().signal).then(
    () => assert.fail("classic-no-hooks cannot manage hooks"),
    (e: RunStepError) => assert.equal(e.reason, "token lacks admin:repo_hook on acme/widgets"),
  );
  const unreachable = githubRepoValidator({
    GITHUB_API_URL: "http://127.0.0.1:1",
    GITHUB_TOKEN: "t0ken-value",
    MESH_SIX_GITHUB_RETRIES: "0",
  });
  const down = await unreachable(run, new AbortController().signal).catch((e: unknown) => e);
  assert.ok(down instanceof RunStepError);
  assert.match(down.reason, /^could not check acme\/secret on GitHub: /);
  assert.ok(!down.reason.includes("t0ken-value"));
});
