import * as pulumi from "@pulumi/pulumi";
import { GITHUB_WEBHOOK } from "../domain/resource-types";
import { isKnown, requireBooleans, requireStringArrays, requireStrings, stateGiven, withDefaults } from "./check";
import { GitHubApiError, githubRest } from "./github-api";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

export interface GitHubWebhookArgs {
  /** The repository's owner (user or organization). */
  readonly owner: pulumi.Input<string>;
  /** The repository's name; changing owner or repo replaces the hook. */
  readonly repo: pulumi.Input<string>;
  /** Where GitHub delivers; the policy pack wants https (or loopback, in the sandbox). */
  readonly url: pulumi.Input<string>;
  /** The events GitHub delivers, compared as a set. */
  readonly events: pulumi.Input<pulumi.Input<string>[]>;
  /** The HMAC secret GitHub signs deliveries with; kept a Pulumi secret in the state whatever is passed. */
  readonly secret: pulumi.Input<string>;
  /** @default true */
  readonly active?: pulumi.Input<boolean>;
  /** The receiver also takes GitHub's form encoding; the policy pack wants json. @default "json" */
  readonly contentType?: pulumi.Input<"json" | "form">;
  /** Skip TLS verification of the receiver; the policy pack refuses true. @default false */
  readonly insecureSsl?: pulumi.Input<boolean>;
}

interface HookInputs {
  owner: string;
  repo: string;
  url: string;
  events: string[];
  secret: string;
  active: boolean;
  contentType: "json" | "form";
  insecureSsl: boolean;
}

// check() fills these in; state written before they were inputs holds none of them, and had these values.
const HOOK_DEFAULTS = { active: true, contentType: "json", insecureSsl: false } as const;

interface HookOutputs extends HookInputs {
  hookId: number;
}

interface GitHubHook {
  id: number;
  active: boolean;
  events: string[];
  config: { url?: string; content_type?: string; insecure_ssl?: string | number };
}

function hookBody(inputs: HookInputs) {
  return {
    active: inputs.active,
    events: [...inputs.events].sort(),
    config: { url: inputs.url, content_type: inputs.contentType, insecure_ssl: inputs.insecureSsl ? "1" : "0", secret: inputs.secret },
  };
}

function sameEvents(a: string[], b: string[]): boolean {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

dynamicProvider<HookInputs, HookOutputs>(GITHUB_WEBHOOK, {
  async check(_olds: HookInputs, news: Partial<HookInputs>) {
    const inputs = withDefaults(news, HOOK_DEFAULTS);
    const failures = [
      ...requireStrings<HookInputs>(inputs, ["owner", "repo", "url", "secret"]),
      ...requireStringArrays<HookInputs>(inputs, ["events"]),
      ...requireBooleans<HookInputs>(inputs, ["active", "insecureSsl"]),
    ];
    if (isKnown(inputs.contentType) && inputs.contentType !== "json" && inputs.contentType !== "form") {
      failures.push({ property: "contentType", reason: `contentType must be "json" or "form", got ${JSON.stringify(inputs.contentType)}` });
    }
    return { inputs: inputs as HookInputs, failures };
  },

  async create(inputs: HookInputs) {
    const base = `/repos/${inputs.owner}/${inputs.repo}/hooks`;
    // A hook for our URL left behind (e.g. by a lost state) is taken over: GitHub refuses a second one.
    const existing = (await githubRest<GitHubHook[]>("GET", `${base}?per_page=100`))!.find((h) => h.config.url === inputs.url);
    const hook = existing
      ? await githubRest<GitHubHook>("PATCH", `${base}/${existing.id}`, hookBody(inputs))
      : await githubRest<GitHubHook>("POST", base, { name: "web", ...hookBody(inputs) });
    return { id: String(hook!.id), outs: { ...inputs, hookId: hook!.id } };
  },

  async diff(_id: string, olds: HookOutputs, news: HookInputs) {
    const replaces = (["owner", "repo"] as const).filter((k) => olds[k] !== news[k]);
    const settingChanged = (["active", "contentType", "insecureSsl"] as const).some((k) => (olds[k] ?? HOOK_DEFAULTS[k]) !== news[k]);
    const changes =
      replaces.length > 0 ||
      settingChanged ||
      olds.url !== news.url ||
      olds.secret !== news.secret ||
      !sameEvents(olds.events, news.events);
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async update(id: string, _olds: HookOutputs, news: HookInputs) {
    await githubRest("PATCH", `/repos/${news.owner}/${news.repo}/hooks/${id}`, hookBody(news));
    return { outs: { ...news, hookId: Number(id) } };
  },

  // Drift: GitHub never returns the secret, so a refresh checks what it can see and keeps the secret we set.
  async read(id: string, state?: HookOutputs) {
    const props = stateGiven(state);
    const hook = await githubRest<GitHubHook>("GET", `/repos/${props.owner}/${props.repo}/hooks/${id}`, undefined, {
      allowNotFound: true,
    });
    if (!hook) return { id: "" };
    return {
      id,
      props: {
        ...props,
        url: hook.config.url ?? props.url,
        events: hook.events,
        active: hook.active,
        contentType: hook.config.content_type === "form" ? "form" : "json",
        insecureSsl: String(hook.config.insecure_ssl ?? "0") === "1",
      },
    };
  },

  async delete(id: string, props: HookOutputs) {
    try {
      await githubRest("DELETE", `/repos/${props.owner}/${props.repo}/hooks/${id}`);
    } catch (err) {
      if (!(err instanceof GitHubApiError && err.status === 404)) throw err;
    }
  },
});

/**
 * A GitHub repository webhook, over the REST API. Adopts: a hook of the repository already delivering to `url` (left
 * behind by a lost state, say) is taken over and set to these inputs, since GitHub refuses a second hook for one URL.
 * Never outputs: the secret, which stays a Pulumi secret in the state (GitHub never returns it, so a refresh keeps
 * the one set here). Defaults are filled in, and inputs refused naming the property, by the provider's check().
 */
export class GitHubWebhook extends TypedDynamicResource {
  declare public readonly hookId: pulumi.Output<number>;
  declare public readonly url: pulumi.Output<string>;

  constructor(name: string, args: GitHubWebhookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      GITHUB_WEBHOOK,
      name,
      { ...args, secret: pulumi.secret(args.secret), hookId: undefined },
      { ...opts, additionalSecretOutputs: ["secret"] },
    );
  }
}
