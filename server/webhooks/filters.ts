import picomatch from "picomatch";
import { type DeliveryFilters, deliveryFiltersSchema } from "../../domain/repo-config";

/**
 * Whether a delivery that matches a repo's labels is still kept from agents: sent or written by one of the agents
 * (so an agent's own comment never becomes new work for itself), by a bot or an ignored login, on an issue or pull
 * request with an excluded label, a draft pull request, or one whose branches the repo does not take. Pure: the
 * caller reads the payload (events.ts) and the identities (the agents' registered logins), this decides.
 */

/** Someone a delivery comes from: its sender, and the author of what an agent would read. */
export interface Actor {
  login: string;
  /** GitHub's user type ("User", "Bot", "Organization"); absent in hand-made payloads. */
  type?: string;
  /** How the reason names them, e.g. "the sender", "the comment's author". */
  role: string;
}

export interface FilterSubject {
  actors: Actor[];
  /** "issue" or "pull request", for the reasons. */
  noun: string;
  labels: string[];
  pullRequest?: { draft: boolean; head: string; base: string };
}

export interface Identities {
  /** The GitHub logins the agents act as (registered with them, POST /v1/agents `githubLogin`). */
  agentLogins: readonly string[];
}

/** A registry row's filters with the defaults filled in; a value the schema refuses (written by hand) reads as the defaults. */
export function repoFilters(column: unknown): DeliveryFilters {
  const parsed = deliveryFiltersSchema.safeParse(column ?? {});
  return parsed.success ? parsed.data : deliveryFiltersSchema.parse({});
}

// GitHub compares logins and label names without regard to case.
const fold = (s: string) => s.toLowerCase();

/** A GitHub App's login ends in `[bot]`; its user type is "Bot" (dependabot, github-actions, renovate…). */
export function isBot(actor: Pick<Actor, "login" | "type">): boolean {
  return actor.type === "Bot" || fold(actor.login).endsWith("[bot]");
}

/** Why the delivery is not work, or undefined when it is. The first filter that holds names the reason. */
export function filterReason(subject: FilterSubject, filters: DeliveryFilters, identities: Identities): string | undefined {
  const agents = new Set(identities.agentLogins.map(fold));
  const ignored = new Set(filters.ignoredLogins.map(fold));
  for (const actor of subject.actors) {
    if (agents.has(fold(actor.login))) return `${actor.role} ${actor.login} is one of the agents`;
    if (ignored.has(fold(actor.login))) return `${actor.role} ${actor.login} is an ignored login`;
    if (filters.ignoreBots && isBot(actor)) return `${actor.role} ${actor.login} is a bot`;
  }
  const excluded = new Set(filters.excludeLabels.map(fold));
  const label = subject.labels.find((l) => excluded.has(fold(l)));
  if (label !== undefined) return `the ${subject.noun} has the excluded label ${label}`;
  const pr = subject.pullRequest;
  if (!pr) return undefined;
  if (filters.ignoreDrafts && pr.draft) return "the pull request is a draft";
  return (
    branchReason("base", pr.base, filters.pullRequests.baseBranches) ?? branchReason("head", pr.head, filters.pullRequests.headBranches)
  );
}

/**
 * Patterns are globs over the whole branch name (`*` stays within one `/` segment, `**` crosses them); one starting
 * with `!` excludes. A branch passes when it matches a plain pattern (or there is none) and no excluding one.
 */
function branchReason(side: "base" | "head", branch: string, patterns: readonly string[]): string | undefined {
  const excluding = patterns.filter((p) => p.startsWith("!")).map((p) => p.slice(1));
  const including = patterns.filter((p) => !p.startsWith("!"));
  const hit = excluding.find((p) => matcher(p)(branch));
  if (hit !== undefined) return `the pull request's ${side} branch ${branch} is excluded by !${hit}`;
  if (including.length > 0 && !including.some((p) => matcher(p)(branch))) {
    return `the pull request's ${side} branch ${branch} matches none of ${including.join(", ")}`;
  }
  return undefined;
}

const matchers = new Map<string, (s: string) => boolean>();

function matcher(pattern: string): (s: string) => boolean {
  let m = matchers.get(pattern);
  if (!m) {
    // Branch names may start with a dot segment; the patterns are the repo's, so a bounded cache suffices.
    m = picomatch(pattern, { dot: true });
    if (matchers.size > 1000) matchers.clear();
    matchers.set(pattern, m);
  }
  return m;
}
