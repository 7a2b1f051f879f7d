import type * as pulumi from "@pulumi/pulumi";
import { AGENT_SETTINGS } from "../domain/resource-types";
import { createAuthProject, getAuthProject, putAuthProjectSettings } from "./auth-service-api";
import { requireStrings } from "./check";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

/**
 * The repo's keys in its auth project's agent settings (the settings file every agent of the project gets in its
 * bundle). The old onboarding replaced that whole file; this resource changes only the top-level keys it owns: the
 * keys of `settings`, and the keys it set before (its state), so a key dropped from the request is removed and keys
 * set by anyone else (a person, another repo sharing the project) stay as they are. Deleting the resource (offboarding,
 * or settings removed from the request) removes its keys and leaves the project. A project the service does not have
 * yet is created with the repo's keys.
 *
 * Each change is a read-modify-write of the settings (GET, then PUT of the whole text: the service's API has no
 * partial or conditional update), so two writers of one project at the same moment can lose one's change; runs of one
 * stack never overlap, and a `pulumi refresh` (every up starts with one) puts back a key of ours that was lost.
 */
export interface AgentSettingsArgs {
  /** The auth service's project (the repo's `authProjectId`). Changing it moves the keys to the new project. */
  readonly projectId: string;
  /** The project's display name when the resource has to create it. */
  readonly displayName: string;
  /** The keys and their values (JSON); each key replaced whole. */
  readonly settings: Record<string, unknown>;
}

type AgentSettingsInputs = { -readonly [K in keyof AgentSettingsArgs]: AgentSettingsArgs[K] };

/** The keys set are the keys of `settings`: the state is what the next change needs to know which keys are its own. */
export type AgentSettingsOutputs = AgentSettingsInputs;

/**
 * The settings with the owned keys changed and no other: keys in `desired` set, keys owned before and no longer
 * desired removed. Exported for its unit test.
 */
export function mergeOwnedSettings(
  current: Record<string, unknown>,
  ownedBefore: readonly string[],
  desired: Record<string, unknown>,
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const key of ownedBefore) if (!(key in desired)) delete next[key];
  return Object.assign(next, desired);
}

function parseSettings(projectId: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  // Writing over a file we cannot read would drop the keys of others: refuse instead.
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`the auth project ${projectId}'s settings are not a JSON object: fix them there before mesh-six changes its keys`);
  }
  return parsed as Record<string, unknown>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Makes the project's settings hold `desired` for the keys this resource owns; answers whether anything changed. */
async function apply(projectId: string, displayName: string, ownedBefore: readonly string[], desired: Record<string, unknown>) {
  // Twice at most: a project created by someone else between our GET and our POST is then read and updated.
  for (let attempt = 0; attempt < 2; attempt++) {
    const project = await getAuthProject(projectId);
    if (!project) {
      if (Object.keys(desired).length === 0) return; // nothing of ours to remove from a project that is gone
      if (await createAuthProject({ id: projectId, displayName, settingsJson: JSON.stringify(desired, null, 2) })) return;
      continue;
    }
    const current = parseSettings(projectId, project.settingsJson);
    const next = mergeOwnedSettings(current, ownedBefore, desired);
    if (same(next, current)) return;
    if (await putAuthProjectSettings(projectId, JSON.stringify(next, null, 2))) return;
  }
  throw new Error(`the auth project ${projectId} kept changing between reads and writes`);
}

function checkFailures(news: Partial<AgentSettingsInputs>): pulumi.dynamic.CheckFailure[] {
  const failures = requireStrings<AgentSettingsInputs>(news, ["projectId", "displayName"]);
  const s = news.settings;
  if (typeof s !== "object" || s === null || Array.isArray(s))
    failures.push({ property: "settings", reason: "settings must be an object" });
  return failures;
}

const agentSettingsProvider = dynamicProvider<AgentSettingsInputs, AgentSettingsOutputs>(AGENT_SETTINGS, {
  async check(_olds, news) {
    return { inputs: news as AgentSettingsInputs, failures: checkFailures(news) };
  },

  async create(inputs) {
    await apply(inputs.projectId, inputs.displayName, [], inputs.settings);
    return { id: inputs.projectId, outs: inputs };
  },

  async diff(_id, olds, news) {
    const changes = olds.projectId !== news.projectId || olds.displayName !== news.displayName || !same(olds.settings, news.settings);
    // The keys go to the new project, then leave the old one (create before delete).
    return { changes, replaces: olds.projectId === news.projectId ? [] : ["projectId"] };
  },

  async update(_id, olds, news) {
    await apply(news.projectId, news.displayName, Object.keys(olds.settings), news.settings);
    return { outs: news };
  },

  async read(id, props) {
    if (!props) return { id: "", props: {} as AgentSettingsOutputs };
    const project = await getAuthProject(props.projectId);
    // The project is gone: so are our keys, and the next up puts them into a new project.
    if (!project) return { id: "", props: {} as AgentSettingsOutputs };
    const current = parseSettings(props.projectId, project.settingsJson);
    // Our keys as the service has them now: a value changed or removed by hand shows as a difference the up undoes.
    const settings = Object.fromEntries(
      Object.keys(props.settings)
        .filter((k) => k in current)
        .map((k) => [k, current[k]]),
    );
    return { id, props: { ...props, settings } };
  },

  async delete(_id, props) {
    await apply(props.projectId, props.displayName, Object.keys(props.settings), {});
  },
});

/** Exported for the test that drives it against the auth service's stand-in. */
export { agentSettingsProvider };

export class AgentSettings extends TypedDynamicResource {
  declare public readonly projectId: pulumi.Output<string>;
  declare public readonly settings: pulumi.Output<Record<string, unknown>>;

  constructor(name: string, args: AgentSettingsArgs, opts?: pulumi.CustomResourceOptions) {
    super(AGENT_SETTINGS, name, { ...args }, opts);
  }
}
