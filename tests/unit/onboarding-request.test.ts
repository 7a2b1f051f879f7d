import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { GITHUB_WEBHOOK } from "../../domain/resource-types";
import { checkGitHubWebhook } from "../../policies/rules/github-webhook";
import { RepoConfigError, parseRepoStackConfig } from "../../domain/repo-config";
import { webhookUrlPath } from "../../domain/names";
import { RequestValidationError } from "../../server/errors";
import { buildOnboardingRequest } from "../../server/onboarding-request";
import { startGitHubEmulator } from "../../emulators/github/server";

// The CLI and the server must build one repo's stack input the same way, and no default may make a stack the policy
// pack refuses.

const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules/tsx/dist/loader.mjs");

async function onboardCli(args: string[], env: Record<string, string | undefined>) {
  const state = mkdtempSync(path.join(tmpdir(), "mesh-six-cli-config-"));
  const tools = mkdtempSync(path.join(tmpdir(), "mesh-six-cli-tools-"));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: "unit",
    MESH_SIX_TOOLS: tools,
    DATABASE_URL: undefined,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  try {
    // Not spawnSync: a test's emulator in this process must go on answering while the CLI runs.
    const res = await promisify(execFile)(process.execPath, ["--import", TSX, path.join(ROOT, "cli/onboard.ts"), ...args], {
      env: childEnv,
      encoding: "utf8",
      timeout: 60_000,
    }).then(
      (r) => ({ status: 0, stderr: r.stderr }),
      (err: { code?: number; stderr?: string }) => ({ status: typeof err.code === "number" ? err.code : null, stderr: err.stderr ?? "" }),
    );
    // Nothing may have been started: no stack in the state backend.
    return { status: res.status, stderr: res.stderr, stateEntries: readdirSync(state) };
  } finally {
    rmSync(state, { recursive: true, force: true });
    rmSync(tools, { recursive: true, force: true });
  }
}

test("the onboard CLI without MESH_SIX_PUBLIC_URL is a configuration error naming it, before any run", async () => {
  const res = await onboardCli(["acme/widgets", "--preview"], { MESH_SIX_PUBLIC_URL: undefined });
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, /MESH_SIX_PUBLIC_URL/);
  assert.doesNotMatch(res.stderr, /select-stack/, "no run was started");
  assert.deepEqual(res.stateEntries, []);
});

test("the onboard CLI refuses a public URL the policy pack would refuse (plain http off loopback), naming it", async () => {
  const res = await onboardCli(["acme/widgets"], { MESH_SIX_PUBLIC_URL: "http://mesh-six-onboarding.mesh-six.svc:8080" });
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, /MESH_SIX_PUBLIC_URL.*https/);
  assert.doesNotMatch(res.stderr, /select-stack/);
});

test("the onboard CLI validates first, as the server does: a repository GitHub lacks fails at validate, before any stack", async () => {
  const token = "cli-validate-token";
  const emu = await startGitHubEmulator({ port: 0, token });
  try {
    const res = await onboardCli(["acme/absent"], {
      MESH_SIX_PUBLIC_URL: "https://mesh-six.example.test",
      GITHUB_API_URL: emu.url,
      GITHUB_TOKEN: token,
      MESH_SIX_GITHUB_RETRIES: "0",
    });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /failed at step validate: repository acme\/absent does not exist or the token cannot see it/);
    assert.doesNotMatch(res.stderr, /select-stack/, "no stack was selected");
    assert.deepEqual(res.stateEntries, []);
  } finally {
    await emu.close();
  }
});

test("a repo config has no serverUrl default: left out it is refused naming mesh-six:serverUrl", () => {
  assert.throws(
    () => parseRepoStackConfig({ owner: "acme", repo: "widgets" }),
    (err: unknown) => err instanceof RepoConfigError && err.issues.some((i) => i.key === "mesh-six:serverUrl"),
  );
});

test("every serverUrl the repo config accepts makes a webhook the policy pack accepts, and the old default is refused", () => {
  const ref = { owner: "acme", repo: "widgets" };
  const webhook = (serverUrl: string) => ({
    url: `${serverUrl}${webhookUrlPath(ref)}`,
    events: ["issues"],
    secret: "s",
    active: true,
    contentType: "json",
    insecureSsl: false,
  });
  for (const serverUrl of ["https://mesh-six.example.com", "http://127.0.0.1:8080", "http://localhost:3000"]) {
    const cfg = parseRepoStackConfig({ ...ref, serverUrl });
    assert.deepEqual(checkGitHubWebhook(GITHUB_WEBHOOK.token, webhook(cfg.serverUrl)), [], serverUrl);
  }
  for (const serverUrl of ["http://mesh-six-onboarding.mesh-six.svc:8080", "http://10.0.0.1", "ftp://x"]) {
    assert.ok(checkGitHubWebhook(GITHUB_WEBHOOK.token, webhook(serverUrl)).length > 0, `the policy refuses ${serverUrl}`);
    assert.throws(() => parseRepoStackConfig({ ...ref, serverUrl }), /mesh-six:serverUrl/, serverUrl);
  }
});

test("the storage prefix is the server's choice of bucket and the request's of keeping: skipStorage makes none", () => {
  const defaults = { publicUrl: "https://mesh-six.example.com", storageBucket: "mesh-six-artifacts" };
  assert.deepEqual(buildOnboardingRequest({ owner: "acme", repo: "widgets" }, defaults).request.storage, { bucket: "mesh-six-artifacts" });
  assert.deepEqual(
    buildOnboardingRequest({ owner: "acme", repo: "widgets", storage: { keepOnOffboard: false } }, defaults).request.storage,
    {
      bucket: "mesh-six-artifacts",
      keepOnOffboard: false,
    },
  );
  const skipped = buildOnboardingRequest({ owner: "acme", repo: "widgets", skipStorage: true }, defaults).request;
  assert.equal(skipped.storage, undefined);
  assert.equal("skipStorage" in skipped, false, "skipStorage is not a stack setting");
  assert.equal(buildOnboardingRequest({ owner: "acme", repo: "widgets" }, { publicUrl: defaults.publicUrl }).request.storage, undefined);
  assert.equal(
    parseRepoStackConfig(buildOnboardingRequest({ owner: "acme", repo: "widgets" }, defaults).request).storage?.keepOnOffboard,
    true,
  );
});

test("a request may not choose the bucket, and a wrong storage field is refused naming it", () => {
  const defaults = { publicUrl: "https://mesh-six.example.com", storageBucket: "mesh-six-artifacts" };
  for (const [body, field] of [
    [{ owner: "acme", repo: "widgets", storage: { bucket: "theirs" } }, "storage.bucket"],
    [{ owner: "acme", repo: "widgets", storage: { keepOnOffboard: "yes" } }, "storage.keepOnOffboard"],
    [{ owner: "acme", repo: "widgets", skipStorage: 1 }, "skipStorage"],
  ] as const) {
    assert.throws(
      () => buildOnboardingRequest(body, defaults),
      (err: RequestValidationError) => err instanceof RequestValidationError && err.issues.some((i) => i.field === field),
      JSON.stringify(body),
    );
  }
});
