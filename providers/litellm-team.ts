import * as pulumi from "@pulumi/pulumi";
import { LITELLM_TEAM } from "../domain/resource-types";
import { type LiteLLMGeneratedKey, type LiteLLMTeam, type LiteLLMKeyInfo, liteLLMCall } from "./litellm-api";
import { vaultKvDestroy, vaultKvRead, vaultKvWrite } from "./vault-kv-api";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

/**
 * A repository's team on the LiteLLM proxy (models allowed, budget) and the one virtual key of that team its
 * environment uses. The key goes from LiteLLM's answer straight into Vault, where the repo's ExternalSecret reads
 * it: it never enters the stack's state (which keeps only the key's sha256, LiteLLM's `token`), its outputs or
 * the run's events. The proxy and Vault are reached through the run's environment (LITELLM_API_BASE,
 * LITELLM_MASTER_KEY, VAULT_ADDR, VAULT_TOKEN), so the master key is never in the state either.
 *
 * The key stays the same across updates; it changes only when `rotateKeyNonce` takes a value it has not had
 * before (a repeated request carries the same nonce and rotates nothing), or when the key or its Vault copy was
 * lost (it cannot be read back from LiteLLM).
 */
export interface LiteLLMTeamArgs {
  /** The team's alias on the proxy, e.g. "acme/widgets". */
  teamAlias: string;
  /** Models the team may call; empty means every model the proxy serves. */
  models: string[];
  /** The team's budget in USD; none when absent. */
  maxBudget?: number;
  /** Handed to the environment as LITELLM_DEFAULT_MODEL. */
  defaultModel?: string;
  /** A new value rotates the key once. */
  rotateKeyNonce?: string;
  /** The key's alias, unique on the proxy: it is how a key left by an interrupted create is found again. */
  keyAlias: string;
  /** Where the key is written, below the KV v2 mount. */
  vaultPath: string;
  /** The KV v2 mount. Default: "secret". */
  vaultMount?: string;
  /** The proxy's URL as the environment reaches it, written next to the key. */
  envBaseUrl: string;
}

export type LiteLLMTeamInputs = Omit<LiteLLMTeamArgs, "vaultMount"> & { vaultMount: string };

export interface LiteLLMTeamOutputs extends LiteLLMTeamInputs {
  teamId: string;
  /** sha256 of the key (LiteLLM's `token`); empty when the key was found gone. */
  keyToken: string;
  /** The last nonce a rotation was done for (or the key was created under). */
  appliedRotateKeyNonce?: string;
  /** The Vault secret's version; 0 when the secret was found gone. */
  vaultVersion: number;
}

/** The variables the environment gets from the Vault secret; the repo's ExternalSecret copies exactly these. */
export const LITELLM_ENV_KEYS = ["LITELLM_API_KEY", "LITELLM_API_BASE", "OPENAI_API_KEY", "OPENAI_BASE_URL"] as const;
export const LITELLM_DEFAULT_MODEL_KEY = "LITELLM_DEFAULT_MODEL";

/** Why the inputs cannot make a team, one failure per property (empty when they can). */
export function liteLLMTeamFailures(i: Partial<Record<keyof LiteLLMTeamInputs, unknown>>): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const nonEmpty = (v: unknown, max: number) => typeof v === "string" && v.length > 0 && v.length <= max;
  if (!nonEmpty(i.teamAlias, 200)) fail("teamAlias", "must be a string of 1-200 characters");
  if (!Array.isArray(i.models) || i.models.some((m) => !nonEmpty(m, 200)))
    fail("models", "must be a list of model names (1-200 characters each)");
  else if (new Set(i.models).size !== i.models.length) fail("models", "must not name a model twice");
  if (i.maxBudget !== undefined && (typeof i.maxBudget !== "number" || !Number.isFinite(i.maxBudget) || i.maxBudget < 0))
    fail("maxBudget", "must be a non-negative number of USD");
  if (i.defaultModel !== undefined && !nonEmpty(i.defaultModel, 200)) fail("defaultModel", "must be a model name of 1-200 characters");
  else if (i.defaultModel !== undefined && Array.isArray(i.models) && i.models.length > 0 && !i.models.includes(i.defaultModel))
    fail("defaultModel", "must be one of models");
  if (i.rotateKeyNonce !== undefined && !nonEmpty(i.rotateKeyNonce, 200)) fail("rotateKeyNonce", "must be a string of 1-200 characters");
  if (!nonEmpty(i.keyAlias, 200)) fail("keyAlias", "must be a string of 1-200 characters");
  if (typeof i.vaultPath !== "string" || !/^mesh-six\/repos\/[^/]+\/[^/]+\/[a-z-]+$/.test(i.vaultPath))
    fail("vaultPath", "must be a repo's path, mesh-six/repos/<owner>/<repo>/<name>");
  if (typeof i.vaultMount !== "string" || !/^[A-Za-z0-9_-]+$/.test(i.vaultMount)) fail("vaultMount", "must be one plain segment");
  if (typeof i.envBaseUrl !== "string" || !/^https?:\/\/[^\s]+$/.test(i.envBaseUrl)) fail("envBaseUrl", "must be an http(s) URL");
  return failures;
}

/** What the environment's Vault secret holds for this key. */
function vaultData(key: string, i: LiteLLMTeamInputs): Record<string, string> {
  const base = i.envBaseUrl.replace(/\/$/, "");
  return {
    LITELLM_API_KEY: key,
    LITELLM_API_BASE: base,
    // OpenAI's SDKs read these; LiteLLM's proxy speaks the OpenAI API.
    OPENAI_API_KEY: key,
    OPENAI_BASE_URL: base,
    ...(i.defaultModel ? { LITELLM_DEFAULT_MODEL: i.defaultModel } : {}),
  };
}

/** The outputs without undefined fields, which the dynamic-provider protocol cannot carry. */
function outputs(o: LiteLLMTeamOutputs): LiteLLMTeamOutputs {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as LiteLLMTeamOutputs;
}

function teamFields(i: LiteLLMTeamInputs) {
  return { team_alias: i.teamAlias, models: i.models, max_budget: i.maxBudget ?? null, metadata: { "mesh-six/key-alias": i.keyAlias } };
}

async function generateKey(teamId: string, i: LiteLLMTeamInputs): Promise<LiteLLMGeneratedKey> {
  // No models on the key: a team key with none may call every model of its team, so a change of the team's
  // models is one /team/update and the key never needs one.
  const key = await liteLLMCall<LiteLLMGeneratedKey>("POST", "/key/generate", {
    team_id: teamId,
    key_alias: i.keyAlias,
    metadata: { "mesh-six/team-alias": i.teamAlias },
  });
  return key!;
}

async function teamKeys(teamId: string): Promise<LiteLLMKeyInfo[] | undefined> {
  const info = await liteLLMCall<{ team_info: LiteLLMTeam; keys: LiteLLMKeyInfo[] }>(
    "GET",
    `/team/info?team_id=${encodeURIComponent(teamId)}`,
    undefined,
    { allowNotFound: true },
  );
  return info?.keys;
}

dynamicProvider<LiteLLMTeamInputs, LiteLLMTeamOutputs>(LITELLM_TEAM, {
  async check(_olds, news) {
    return { inputs: news, failures: liteLLMTeamFailures(news) };
  },

  async create(inputs) {
    // A create the run did not see finish left its team (and key) behind: the team is found by its alias and
    // taken over, and the key it cannot read back is replaced.
    const teams = (await liteLLMCall<LiteLLMTeam[]>("GET", "/team/list")) ?? [];
    const existing = teams.find((t) => t.team_alias === inputs.teamAlias);
    let teamId: string;
    if (existing) {
      teamId = existing.team_id;
      await liteLLMCall("POST", "/team/update", { team_id: teamId, ...teamFields(inputs) });
      const stale = ((await teamKeys(teamId)) ?? []).filter((k) => k.key_alias === inputs.keyAlias).map((k) => k.token);
      if (stale.length > 0) await liteLLMCall("POST", "/key/delete", { keys: stale }, { allowNotFound: true });
    } else {
      teamId = (await liteLLMCall<LiteLLMTeam>("POST", "/team/new", teamFields(inputs)))!.team_id;
    }
    const key = await generateKey(teamId, inputs);
    const vaultVersion = await vaultKvWrite(inputs.vaultMount, inputs.vaultPath, vaultData(key.key, inputs));
    return {
      id: teamId,
      outs: outputs({ ...inputs, teamId, keyToken: key.token, appliedRotateKeyNonce: inputs.rotateKeyNonce, vaultVersion }),
    };
  },

  async diff(_id, olds, news) {
    const replaces = (["keyAlias", "vaultPath", "vaultMount"] as const).filter((k) => olds[k] !== news[k]);
    const changed = (["teamAlias", "maxBudget", "defaultModel", "envBaseUrl"] as const).some((k) => olds[k] !== news[k]);
    const modelsChanged = JSON.stringify(olds.models ?? []) !== JSON.stringify(news.models ?? []);
    const rotate = news.rotateKeyNonce !== undefined && news.rotateKeyNonce !== olds.appliedRotateKeyNonce;
    const lost = !olds.keyToken || !olds.vaultVersion;
    return {
      changes: replaces.length > 0 || changed || modelsChanged || rotate || lost,
      replaces,
      // The new team would take over the old one by its alias, which the old one's delete would then remove.
      deleteBeforeReplace: true,
    };
  },

  async update(id, olds, news) {
    await liteLLMCall("POST", "/team/update", { team_id: id, ...teamFields(news) });
    const rotate = news.rotateKeyNonce !== undefined && news.rotateKeyNonce !== olds.appliedRotateKeyNonce;
    let key: string | undefined;
    let keyToken = olds.keyToken;
    const current = await vaultKvRead(news.vaultMount, news.vaultPath);
    if (keyToken && (rotate || !current?.data.LITELLM_API_KEY)) {
      // Regenerating replaces the key at once (no grace period): the old one stops working.
      const regenerated = await liteLLMCall<LiteLLMGeneratedKey>("POST", `/key/${keyToken}/regenerate`, {}, { allowNotFound: true });
      if (regenerated) [key, keyToken] = [regenerated.key, regenerated.token];
      else keyToken = "";
    }
    if (!keyToken) {
      const generated = await generateKey(id, news);
      [key, keyToken] = [generated.key, generated.token];
    }
    key ??= current!.data.LITELLM_API_KEY;
    const data = vaultData(key, news);
    let vaultVersion = current?.version ?? 0;
    const same = current && JSON.stringify(Object.entries(current.data).sort()) === JSON.stringify(Object.entries(data).sort());
    if (!same) vaultVersion = await vaultKvWrite(news.vaultMount, news.vaultPath, data);
    return {
      outs: outputs({
        ...news,
        teamId: id,
        keyToken,
        appliedRotateKeyNonce: news.rotateKeyNonce ?? olds.appliedRotateKeyNonce,
        vaultVersion,
      }),
    };
  },

  async read(id, props) {
    const info = await liteLLMCall<{ team_info: LiteLLMTeam; keys: LiteLLMKeyInfo[] }>(
      "GET",
      `/team/info?team_id=${encodeURIComponent(id)}`,
      undefined,
      { allowNotFound: true },
    );
    // The team is gone: so is the resource, and the next up creates both again.
    if (!info || !props) return { id: "", props: {} as LiteLLMTeamOutputs };
    const keyAlive = info.keys.some((k) => k.token === props.keyToken);
    const vault = await vaultKvRead(props.vaultMount, props.vaultPath);
    return {
      id,
      props: outputs({
        ...props,
        teamAlias: info.team_info.team_alias ?? "",
        models: info.team_info.models,
        maxBudget: info.team_info.max_budget ?? undefined,
        keyToken: keyAlive ? props.keyToken : "",
        vaultVersion: vault?.data.LITELLM_API_KEY ? vault.version : 0,
      }),
    };
  },

  async delete(id, props) {
    if (props.keyToken) await liteLLMCall("POST", "/key/delete", { keys: [props.keyToken] }, { allowNotFound: true });
    // Deleting the team deletes any other key of it as well.
    await liteLLMCall("POST", "/team/delete", { team_ids: [id] }, { allowNotFound: true });
    await vaultKvDestroy(props.vaultMount, props.vaultPath);
  },
});

export class LiteLLMTeamResource extends TypedDynamicResource {
  declare public readonly teamId: pulumi.Output<string>;
  declare public readonly teamAlias: pulumi.Output<string>;
  declare public readonly vaultPath: pulumi.Output<string>;
  declare public readonly vaultVersion: pulumi.Output<number>;

  constructor(name: string, args: LiteLLMTeamArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: LiteLLMTeamInputs = { ...args, vaultMount: args.vaultMount ?? "secret" };
    super(
      LITELLM_TEAM,
      name,
      { ...inputs, teamId: undefined, keyToken: undefined, appliedRotateKeyNonce: undefined, vaultVersion: undefined },
      // The key's hash is not the key, but nothing about the key needs to be shown.
      { ...opts, additionalSecretOutputs: ["keyToken"] },
    );
  }
}
