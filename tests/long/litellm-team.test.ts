import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { k8sNameFor, liteLLMKeyAlias, vaultLiteLLMPath } from "../../domain/names";
import { createEmulatorRepo, startFaultServer, TERMINAL, timeBudget, uniqueOwner } from "../../testkit/fault-server";
import { kubeApi } from "../../testkit/kube-api";
import { startLiteLLMFixture } from "../../testkit/litellm-emulator";
import { readVaultSecret } from "../../testkit/vault-api";

// A repo's LiteLLM team and key for real: onboarding, re-onboarding, a budget change, a key rotation (and its
// repeat) and offboarding through the server's API and the real runner (`pulumi up`), against a LiteLLM emulator
// of this test's own and the sandbox's Vault and Kubernetes API. The key is in LiteLLM and Vault only: never in
// the run's outputs, events or the server's log.

const TIMEOUT_MS = 600_000;
const NS = "mesh-six";

interface Dump {
  teams: { team_id: string; team_alias: string; models: string[]; max_budget: number | null }[];
  keys: { key: string; token: string; key_alias: string; team_id: string }[];
}
interface ExternalSecret {
  spec: { data: { secretKey: string; remoteRef: { key: string; property: string } }[] };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

test(
  "onboard makes a team and one key in Vault; re-onboard keeps it; a nonce rotates it once; offboard removes all",
  { timeout: TIMEOUT_MS },
  async (t) => {
    const left = timeBudget(TIMEOUT_MS);
    const ll = await startLiteLLMFixture();
    const ref = { owner: uniqueOwner("litellm"), repo: "widgets" };
    const alias = `${ref.owner}/${ref.repo}`.toLowerCase();
    await createEmulatorRepo(ref);
    const fs = await startFaultServer({ env: ll.env });
    const keysSeen: string[] = [];
    // The emulator's own view, as the report shows it: keys masked to their last 4 characters.
    const dump = async (label: string) => {
      const state = (await ll.call<Dump>("GET", "/_emulator/state")).body;
      const mine = {
        teams: state.teams.filter((tm) => tm.team_alias === alias),
        keys: state.keys.filter((k) => k.key_alias === liteLLMKeyAlias(ref)),
      };
      t.diagnostic(`${label}: ${JSON.stringify(mine)}`);
      return mine;
    };
    const keyInVault = async () => {
      const data = await readVaultSecret(vaultLiteLLMPath(ref));
      if (data?.LITELLM_API_KEY) keysSeen.push(data.LITELLM_API_KEY);
      return data;
    };
    const run = async (label: string, body: Record<string, unknown>) => {
      const accepted = await fs.onboard(ref, body);
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      const done = await fs.waitForRun(accepted.runId!, TERMINAL, left());
      assert.equal(done.status, "succeeded", `${label}: ${done.failedStep}: ${done.failureReason}`);
      t.diagnostic(`${label}: changes ${JSON.stringify(done.changeSummary)}`);
      return done;
    };
    const settings = { litellm: { models: ["gpt-4o", "gpt-4o-mini"], defaultModel: "gpt-4o", maxBudget: 10 } };
    try {
      // Onboard: one team of the repo's alias, one key, the key in Vault, the ExternalSecret pointing at it.
      const onboarded = await run("onboard", settings);
      const first = await dump("after onboard");
      assert.equal(first.teams.length, 1);
      assert.deepEqual([first.teams[0].models, first.teams[0].max_budget], [["gpt-4o", "gpt-4o-mini"], 10]);
      assert.equal(first.keys.length, 1);
      assert.equal(first.keys[0].team_id, first.teams[0].team_id);
      const vault1 = await keyInVault();
      assert.ok(vault1, "the key's Vault secret exists");
      assert.equal(first.keys[0].key, `****${vault1.LITELLM_API_KEY.slice(-4)}`, "Vault holds the team's one key");
      assert.equal(vault1.OPENAI_API_KEY, vault1.LITELLM_API_KEY);
      assert.equal(vault1.LITELLM_API_BASE, ll.emulator.url);
      assert.equal(vault1.LITELLM_DEFAULT_MODEL, "gpt-4o");
      assert.equal(onboarded.outputs?.litellmTeamId, first.teams[0].team_id);
      const es = await kubeApi("GET", `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/${k8sNameFor(ref)}-secrets`);
      assert.equal(es.status, 200);
      const fromLiteLLM = (es.body as ExternalSecret).spec.data.filter((d) => d.remoteRef.key === vaultLiteLLMPath(ref));
      assert.deepEqual(fromLiteLLM.map((d) => d.secretKey).sort(), [
        "LITELLM_API_BASE",
        "LITELLM_API_KEY",
        "LITELLM_DEFAULT_MODEL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
      ]);
      const events = await fs.events(onboarded.id);
      assert.ok(!events.some((e) => e.data.step === "litellm" && e.data.skipped), "a server with LiteLLM does not skip it");

      // Re-onboard with the same request: the same key, still one, Vault untouched.
      // Forced: the team's provider must keep the key when it runs again (an unforced one would be up-to-date).
      const again = await run("re-onboard", { ...settings, force: true });
      const second = await dump("after re-onboard");
      assert.equal(second.keys.length, 1);
      assert.equal(second.keys[0].token, first.keys[0].token, "the same key");
      assert.deepEqual(await keyInVault(), vault1);
      assert.equal(again.changeSummary?.update ?? 0, 0, JSON.stringify(again.changeSummary));

      // A budget and models change updates the team in place, key and all.
      await run("budget change", { litellm: { ...settings.litellm, models: ["gpt-4o"], maxBudget: 25 } });
      const third = await dump("after budget change");
      assert.equal(third.teams[0].team_id, first.teams[0].team_id, "the same team");
      assert.deepEqual([third.teams[0].models, third.teams[0].max_budget], [["gpt-4o"], 25]);
      assert.equal(third.keys[0].token, first.keys[0].token, "the same key");

      // A rotation: a new key, the old one gone, Vault holding the new one.
      const rotate = { litellm: { ...settings.litellm, models: ["gpt-4o"], maxBudget: 25, rotateKeyNonce: "2026-12-01" } };
      await run("rotate", rotate);
      const fourth = await dump("after rotate");
      assert.equal(fourth.keys.length, 1);
      assert.notEqual(fourth.keys[0].token, first.keys[0].token, "a new key");
      assert.equal((await ll.call("GET", `/key/info?key=${first.keys[0].token}`)).status, 404, "the old key is deleted");
      const vault2 = await keyInVault();
      assert.ok(vault2);
      assert.notEqual(vault2.LITELLM_API_KEY, vault1.LITELLM_API_KEY);
      assert.equal(
        sha256(vault2.LITELLM_API_KEY),
        (await ll.call<{ key: string }>("GET", `/key/info?key=${vault2.LITELLM_API_KEY}`)).body.key,
      );

      // The same rotation request again rotates nothing.
      await run("rotate repeated", rotate);
      const fifth = await dump("after the rotate request repeated");
      assert.equal(fifth.keys[0].token, fourth.keys[0].token, "no second rotation");
      assert.equal((await keyInVault())?.LITELLM_API_KEY, vault2.LITELLM_API_KEY);

      // Offboard: team, key and Vault secret gone.
      const off = await fs.server.request(`/v1/repos/${ref.owner}/${ref.repo}`, { method: "DELETE" });
      assert.equal(off.status, 202);
      const destroyed = await fs.waitForRun(((await off.json()) as { runId: string }).runId, TERMINAL, left());
      assert.equal(destroyed.status, "succeeded", `${destroyed.failedStep}: ${destroyed.failureReason}`);
      const gone = await dump("after offboard");
      assert.deepEqual([gone.teams.length, gone.keys.length], [0, 0]);
      assert.equal(await readVaultSecret(vaultLiteLLMPath(ref)), undefined);

      // No key (nor the master key) in any run's outputs or events, nor in the server's log.
      const lines = await fs.logLines();
      assert.ok(lines.length > 0);
      for (const secret of [...new Set(keysSeen), ll.masterKey]) {
        assert.equal(lines.filter((l) => l.includes(secret)).length, 0, `a key ending ${secret.slice(-4)} is in the run events or log`);
      }
      const { rows } = await fs.pool.query("SELECT outputs::text AS o FROM runs WHERE owner = $1", [ref.owner]);
      for (const r of rows) for (const secret of keysSeen) assert.ok(!String(r.o).includes(secret), "a key in a run's outputs");
    } finally {
      await fs.cleanup([ref]);
      await ll.close();
    }
  },
);

test("skipLiteLLM leaves LiteLLM out and the run records the step as skipped", { timeout: TIMEOUT_MS }, async () => {
  const left = timeBudget(TIMEOUT_MS);
  const ll = await startLiteLLMFixture();
  const ref = { owner: uniqueOwner("litellm-skip"), repo: "widgets" };
  await createEmulatorRepo(ref);
  const fs = await startFaultServer({ env: ll.env });
  try {
    const accepted = await fs.onboard(ref, { skipLiteLLM: true, litellm: { maxBudget: 5 } });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const done = await fs.waitForRun(accepted.runId!, TERMINAL, left());
    assert.equal(done.status, "succeeded", `${done.failedStep}: ${done.failureReason}`);
    const skipped = (await fs.events(done.id)).filter((e) => e.type === "step" && e.data.step === "litellm");
    assert.deepEqual(
      skipped.map((e) => e.data.skipped),
      ["the request set skipLiteLLM"],
    );
    assert.deepEqual((await ll.call<Dump>("GET", "/_emulator/state")).body, { teams: [], keys: [] });
    assert.equal(done.outputs?.litellmTeamId, undefined);
    assert.equal(await readVaultSecret(vaultLiteLLMPath(ref)), undefined);
    const es = await kubeApi("GET", `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/${k8sNameFor(ref)}-secrets`);
    assert.deepEqual(
      (es.body as ExternalSecret).spec.data.map((d) => d.secretKey),
      ["GITHUB_TOKEN"],
    );
  } finally {
    await fs.cleanup([ref]);
    await ll.close();
  }
});
