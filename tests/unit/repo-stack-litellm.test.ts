import assert from "node:assert/strict";
import { before, test } from "node:test";
import { type Declared, declareRepoStack } from "../../testkit/repo-stack-mocks";

// The repo stack's LiteLLM team under Pulumi's mocks, on a server with a LiteLLM proxy: the team resource is
// declared with the repo's alias, models, budget and Vault path, and the env ExternalSecret copies the key's
// variables from that path. (tests/unit/repo-stack.test.ts runs the stack without a proxy: no team.)

const TEAM = "pulumi-nodejs:dynamic/litellm:Team";
// What the mocked team reports as its key's hash; it must not surface in the stack's outputs.
const CANARY_TOKEN = "canary-key-token-0123456789abcdef";

let declared: Declared[];
let outputs: Record<string, unknown>;

before(async () => {
  process.env.LITELLM_API_BASE = "http://litellm.mesh-six.svc:4000";
  try {
    ({ declared, outputs } = await declareRepoStack(
      {
        owner: "Acme",
        repo: "Widgets",
        serverUrl: "https://mesh-six.example.com",
        litellm: { models: ["gpt-4o", "claude-sonnet"], defaultModel: "claude-sonnet", maxBudget: 50, rotateKeyNonce: "r1" },
      },
      (type, inputs) => (type === TEAM ? { ...inputs, teamId: "team-1234", keyToken: CANARY_TOKEN, vaultVersion: 1 } : inputs),
    ));
  } finally {
    delete process.env.LITELLM_API_BASE;
  }
});

test("one LiteLLM team of the repo's alias, models and budget, its key bound for the repo's Vault path", () => {
  const teams = declared.filter((d) => d.type === TEAM);
  assert.equal(teams.length, 1);
  const inputs = teams[0].inputs;
  assert.equal(inputs.teamAlias, "acme/widgets", "the alias is the repository's canonical owner/repo");
  assert.deepEqual(inputs.models, ["gpt-4o", "claude-sonnet"]);
  assert.equal(inputs.maxBudget, 50);
  assert.equal(inputs.defaultModel, "claude-sonnet");
  assert.equal(inputs.rotateKeyNonce, "r1");
  assert.equal(inputs.keyAlias, "mesh-six:acme/widgets");
  assert.equal(inputs.vaultPath, "mesh-six/repos/acme/widgets/litellm");
  assert.equal(inputs.vaultMount, "secret");
  assert.equal(inputs.envBaseUrl, "http://litellm.mesh-six.svc:4000");
  for (const name of Object.keys(inputs)) assert.ok(!/master/i.test(name), `the master key is not an input (${name})`);
});

test("the env ExternalSecret takes the key, the base URL and the default model from the team's Vault path", () => {
  const es = declared.find((d) => d.type === "kubernetes:external-secrets.io/v1:ExternalSecret")!.inputs;
  const byPath = (p: string) =>
    es.spec.data
      .filter((d: { remoteRef: { key: string } }) => d.remoteRef.key === p)
      .map((d: { secretKey: string; remoteRef: { property: string } }) => [d.secretKey, d.remoteRef.property]);
  assert.deepEqual(byPath("mesh-six/repos/acme/widgets/env"), [["GITHUB_TOKEN", "GITHUB_TOKEN"]]);
  assert.deepEqual(
    byPath("mesh-six/repos/acme/widgets/litellm").map(([k]: string[]) => k),
    ["LITELLM_API_KEY", "LITELLM_API_BASE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LITELLM_DEFAULT_MODEL"],
  );
  for (const [k, property] of byPath("mesh-six/repos/acme/widgets/litellm")) assert.equal(k, property);
});

test("the team id is an output; nothing of the key is", () => {
  assert.equal(outputs.litellmTeamId, "team-1234");
  assert.ok(!JSON.stringify(outputs).includes(CANARY_TOKEN));
});
