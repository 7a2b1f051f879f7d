import assert from "node:assert/strict";
import { test } from "node:test";
import { liteLLMSkipReason } from "../../domain/litellm";
import { parseRepoStackConfig, readRepoStackConfig, toStackConfig } from "../../domain/repo-config";
import { liteLLMTeamFailures } from "../../providers/litellm-team";
import { RequestValidationError } from "../../server/errors";
import { buildOnboardingRequest } from "../../server/onboarding-request";

// A repo's LiteLLM settings: the onboarding request's `litellm` and `skipLiteLLM`, their field errors, the stack
// config they become, when the step is skipped, and the team resource's own check of its inputs.

const DEFAULTS = { publicUrl: "https://mesh-six.example.com" };
const REPO = { owner: "acme", repo: "widgets" };

function fieldErrors(body: Record<string, unknown>): Record<string, string> {
  try {
    buildOnboardingRequest({ ...REPO, ...body }, DEFAULTS);
  } catch (err) {
    assert.ok(err instanceof RequestValidationError, String(err));
    return Object.fromEntries(err.issues.map((i) => [i.field, i.message]));
  }
  assert.fail(`accepted ${JSON.stringify(body)}`);
}

test("the request's litellm settings and skipLiteLLM become stack input as written, and round-trip through the stack config", () => {
  const litellm = {
    teamAlias: "Acme Widgets",
    models: ["gpt-4o", "gpt-4o-mini"],
    defaultModel: "gpt-4o",
    maxBudget: 12.5,
    rotateKeyNonce: "2026-12",
  };
  const { request } = buildOnboardingRequest({ ...REPO, litellm, skipLiteLLM: false }, DEFAULTS);
  assert.deepEqual(request.litellm, litellm);
  const config = toStackConfig(request);
  assert.deepEqual(JSON.parse(config["mesh-six:litellm"].value), litellm);
  const read = readRepoStackConfig((k) => config[`mesh-six:${k}`]?.value);
  assert.deepEqual(read.litellm, litellm);
  assert.equal(read.skipLiteLLM, false);
  assert.equal(parseRepoStackConfig({ ...REPO, serverUrl: DEFAULTS.publicUrl }).skipLiteLLM, false, "LiteLLM is on by default");
});

test("bad litellm settings are refused with an error naming each field", () => {
  assert.deepEqual(
    Object.keys(
      fieldErrors({ litellm: { models: ["gpt-4o", "gpt-4o"], maxBudget: -1, teamAlias: "", rotateKeyNonce: 7, rotateKey: true } }),
    ).sort(),
    ["litellm.maxBudget", "litellm.models", "litellm.rotateKey", "litellm.rotateKeyNonce", "litellm.teamAlias"],
  );
  assert.deepEqual(fieldErrors({ litellm: { models: ["gpt-4o"], defaultModel: "claude" } }), {
    "litellm.defaultModel": "must be one of litellm.models",
  });
  assert.match(fieldErrors({ litellm: { models: "gpt-4o" } })["litellm.models"], /array/);
  assert.match(fieldErrors({ skipLiteLLM: "yes" }).skipLiteLLM, /boolean/);
  assert.match(fieldErrors({ litellm: [] }).litellm, /object/);
  // A default model with no models listed is any model the proxy serves.
  assert.doesNotThrow(() => buildOnboardingRequest({ ...REPO, litellm: { defaultModel: "claude" } }, DEFAULTS));
});

test("LiteLLM is skipped, saying why, when the request says so or the server has no proxy", () => {
  const withProxy = { LITELLM_API_BASE: "http://litellm:4000" };
  assert.equal(liteLLMSkipReason({}, withProxy), undefined);
  assert.equal(liteLLMSkipReason({ skipLiteLLM: false }, withProxy), undefined);
  assert.equal(liteLLMSkipReason({ skipLiteLLM: true }, withProxy), "the request set skipLiteLLM");
  assert.match(liteLLMSkipReason({}, {})!, /LITELLM_API_BASE/);
});

test("the team resource's check refuses inputs that cannot make a team, one failure per property", () => {
  const good = {
    teamAlias: "acme/widgets",
    models: ["gpt-4o"],
    keyAlias: "mesh-six:acme/widgets",
    vaultPath: "mesh-six/repos/acme/widgets/litellm",
    vaultMount: "secret",
    envBaseUrl: "http://litellm:4000",
  };
  assert.deepEqual(liteLLMTeamFailures(good), []);
  assert.deepEqual(liteLLMTeamFailures({ ...good, models: [], maxBudget: 0, defaultModel: "any" }), []);
  const failures = liteLLMTeamFailures({
    teamAlias: "",
    models: ["a", "a"],
    maxBudget: Number.NaN,
    rotateKeyNonce: "",
    keyAlias: 3,
    vaultPath: "mesh-six/webhooks/repos/acme/widgets",
    vaultMount: "secret/data",
    envBaseUrl: "ftp://x",
  });
  assert.deepEqual(
    failures.map((f) => f.property),
    ["teamAlias", "models", "maxBudget", "rotateKeyNonce", "keyAlias", "vaultPath", "vaultMount", "envBaseUrl"],
  );
  assert.deepEqual(
    liteLLMTeamFailures({ ...good, defaultModel: "claude" }).map((f) => `${f.property}: ${f.reason}`),
    ["defaultModel: must be one of models"],
  );
});
