import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../server/config";
import { buildOnboardingRequest, loadOnboardingDefaults } from "../../server/onboarding-request";
import { RequestValidationError } from "../../server/errors";

// One function builds a repo's stack input from an onboarding request for both the server (POST /v1/onboardings) and
// the CLI (npm run onboard), so that the two never disagree about a repo's stack.

const DEFAULTS = { publicUrl: "https://mesh-six.example.com" };

test("the public URL becomes serverUrl, whatever the body says", () => {
  const { request } = buildOnboardingRequest({ owner: "acme", repo: "widgets", displayName: "W" }, DEFAULTS);
  assert.deepEqual(request, { owner: "acme", repo: "widgets", displayName: "W", serverUrl: "https://mesh-six.example.com" });
});

test("MESH_SIX_NAMESPACE is the namespace unless the request names one; skipAuth is a run option, not stack input", () => {
  const withNs = { ...DEFAULTS, namespace: "team-a" };
  const built = buildOnboardingRequest({ owner: "acme", repo: "widgets", skipAuth: true }, withNs);
  assert.deepEqual(built.request, { owner: "acme", repo: "widgets", serverUrl: DEFAULTS.publicUrl, namespace: "team-a" });
  assert.deepEqual(built.options, { skipAuth: true });
  assert.deepEqual(buildOnboardingRequest({ owner: "acme", repo: "widgets" }, DEFAULTS).options, {});
  assert.equal(buildOnboardingRequest({ owner: "acme", repo: "widgets" }, DEFAULTS).request.namespace, undefined);
});

test("an invalid request is refused with the same field issues the API answers", () => {
  assert.throws(
    () => buildOnboardingRequest({ owner: "acme", repo: "widgets", defaultBranch: "a..b", serverUrl: "https://elsewhere" }, DEFAULTS),
    (err: unknown) => {
      assert.ok(err instanceof RequestValidationError, String(err));
      assert.deepEqual(err.issues.map((i) => i.field).sort(), ["defaultBranch", "serverUrl"]);
      return true;
    },
  );
  assert.throws(
    () => buildOnboardingRequest({ repo: "widgets" }, DEFAULTS),
    (err: unknown) => err instanceof RequestValidationError && err.issues[0].field === "owner",
  );
});

test("the defaults come from the environment as the server reads it: MESH_SIX_PUBLIC_URL required, https or loopback", () => {
  assert.deepEqual(loadOnboardingDefaults({ MESH_SIX_PUBLIC_URL: "https://m.example", MESH_SIX_NAMESPACE: "team-a" }), {
    publicUrl: "https://m.example",
    namespace: "team-a",
  });
  assert.deepEqual(loadOnboardingDefaults({ MESH_SIX_PUBLIC_URL: "http://127.0.0.1:8080" }), { publicUrl: "http://127.0.0.1:8080" });
  const refused = (env: NodeJS.ProcessEnv, variable: string, message: RegExp) =>
    assert.throws(
      () => loadOnboardingDefaults(env),
      (err: unknown) => err instanceof ConfigError && err.variable === variable && message.test(err.message),
      JSON.stringify(env),
    );
  refused({}, "MESH_SIX_PUBLIC_URL", /required/);
  refused({ MESH_SIX_PUBLIC_URL: "http://mesh-six.example.com" }, "MESH_SIX_PUBLIC_URL", /https/);
  refused({ MESH_SIX_PUBLIC_URL: "https://m.example", MESH_SIX_NAMESPACE: "Not_A_Namespace" }, "MESH_SIX_NAMESPACE", /namespace/);
});
