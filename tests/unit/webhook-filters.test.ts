// The filters that keep a matching delivery from agents (server/webhooks/filters.ts), judged over GitHub's own
// example payloads (issues, issue_comment, pull_request with draft and ready_for_review, label events).
import assert from "node:assert/strict";
import { test } from "node:test";
import { type DeliveryFilters, deliveryFiltersSchema, parseRepoStackConfig } from "../../domain/repo-config";
import { decideRepoEvent, type RepoRules } from "../../server/webhooks/events";
import { filterReason, isBot, repoFilters } from "../../server/webhooks/filters";
import { botUser, githubExample, type Payload } from "../../testkit/github-payloads";

const defaults = deliveryFiltersSchema.parse({});
const rulesWith = (filters: Partial<DeliveryFilters> = {}): RepoRules => ({
  owner: "Codertocat",
  repo: "Hello-World",
  labels: ["mesh-six"],
  allowedAuthors: [],
  filters: deliveryFiltersSchema.parse(filters),
});
const agents = { agentLogins: ["mesh-six-agent"] };

/** The example with the repo's label on its issue (or pull request). */
function labeled(event: string, action: string, extra: string[] = []): Payload {
  const p = githubExample(event, action);
  const labels = ["mesh-six", ...extra].map((name) => ({ name }));
  if (p.issue) p.issue.labels = labels;
  if (p.pull_request) p.pull_request.labels = labels;
  if (p.label) p.label = { ...p.label, name: "mesh-six" };
  return p;
}

const decide = (event: string, p: Payload, filters?: Partial<DeliveryFilters>) => decideRepoEvent(event, p, rulesWith(filters), agents);
const reasonOf = (d: ReturnType<typeof decide>) => (d.outcome === "ignored" ? d.reason : d.outcome);

test("the defaults are the safe side: drafts and bots ignored, no label excluded, any branch", () => {
  assert.deepEqual(defaults, {
    excludeLabels: [],
    ignoreDrafts: true,
    ignoreBots: true,
    ignoredLogins: [],
    pullRequests: { baseBranches: [], headBranches: [] },
  });
  // A stack config without filters gets exactly these.
  assert.deepEqual(parseRepoStackConfig({ owner: "acme", repo: "widgets", serverUrl: "https://mesh.example" }).filters, defaults);
  // A registry row from before the column (its default '{}'), or one edited by hand into nonsense, reads as the defaults.
  assert.deepEqual(repoFilters({}), defaults);
  assert.deepEqual(repoFilters({ ignoreBots: "no" }), defaults);
  assert.deepEqual(repoFilters({ ignoreDrafts: false }), { ...defaults, ignoreDrafts: false });
});

test("GitHub's own issue, comment and pull request examples with the repo's label are work", () => {
  assert.equal(decide("issues", labeled("issues", "opened")).outcome, "work");
  assert.equal(decide("issues", labeled("issues", "labeled")).outcome, "work");
  assert.equal(decide("issue_comment", labeled("issue_comment", "created")).outcome, "work");
  assert.equal(decide("pull_request", labeled("pull_request", "opened")).outcome, "work");
  assert.equal(decide("pull_request", labeled("pull_request", "ready_for_review")).outcome, "work");
});

test("an agent's own comment, and a label an agent added, are not work; the agent's login is matched without regard to case", () => {
  const comment = labeled("issue_comment", "created");
  comment.comment!.user = { ...comment.comment!.user, login: "Mesh-Six-Agent" };
  assert.equal(reasonOf(decide("issue_comment", comment)), "the comment's author Mesh-Six-Agent is one of the agents");
  const label = labeled("issues", "labeled");
  label.sender = { ...label.sender, login: "mesh-six-agent" };
  assert.equal(reasonOf(decide("issues", label)), "the sender mesh-six-agent is one of the agents");
  // A person's comment on the same issue is work.
  assert.equal(decide("issue_comment", labeled("issue_comment", "created")).outcome, "work");
});

test("bots are recognised by a [bot] login or user type Bot, and ignored unless the repo takes them", () => {
  assert.equal(isBot({ login: "dependabot[bot]" }), true);
  assert.equal(isBot({ login: "renovate", type: "Bot" }), true);
  assert.equal(isBot({ login: "Codertocat", type: "User" }), false);
  const pr = labeled("pull_request", "opened");
  pr.pull_request!.user = { ...pr.pull_request!.user, ...botUser("dependabot") };
  assert.equal(reasonOf(decide("pull_request", pr)), "the pull request's author dependabot[bot] is a bot");
  assert.equal(decide("pull_request", pr, { ignoreBots: false }).outcome, "work");
  const issue = labeled("issues", "labeled");
  issue.sender = { ...issue.sender, ...botUser() };
  assert.equal(reasonOf(decide("issues", issue)), "the sender github-actions[bot] is a bot");
});

test("ignored logins and excluded labels keep issues and pull requests from agents", () => {
  const issue = labeled("issues", "opened", ["WontFix"]);
  assert.equal(reasonOf(decide("issues", issue, { excludeLabels: ["wontfix"] })), "the issue has the excluded label WontFix");
  const pr = labeled("pull_request", "opened", ["do-not-review"]);
  assert.equal(
    reasonOf(decide("pull_request", pr, { excludeLabels: ["do-not-review"] })),
    "the pull request has the excluded label do-not-review",
  );
  const comment = labeled("issue_comment", "created");
  assert.equal(reasonOf(decide("issue_comment", comment, { ignoredLogins: ["codertocat"] })), "the sender Codertocat is an ignored login");
});

test("a draft pull request waits for ready_for_review; the repo may take drafts", () => {
  const draft = labeled("pull_request", "opened");
  draft.pull_request!.draft = true;
  assert.equal(reasonOf(decide("pull_request", draft)), "the pull request is a draft");
  assert.equal(decide("pull_request", draft, { ignoreDrafts: false }).outcome, "work");
  // GitHub's ready_for_review example carries draft: false, and becomes work.
  const ready = labeled("pull_request", "ready_for_review");
  assert.equal(ready.pull_request!.draft, false);
  assert.equal(decide("pull_request", ready).outcome, "work");
  // Converting back to a draft is no new work.
  assert.equal(
    reasonOf(decide("pull_request", labeled("pull_request", "converted_to_draft"))),
    "pull_request action converted_to_draft is not handled",
  );
});

test("branch patterns: globs over the whole name, `**` across segments, `!` excludes", () => {
  const pr = (base: string, head: string) => {
    const p = labeled("pull_request", "opened");
    p.pull_request!.base = { ...p.pull_request!.base, ref: base };
    p.pull_request!.head = { ...p.pull_request!.head, ref: head };
    return p;
  };
  const only = { pullRequests: { baseBranches: ["main", "release/*"], headBranches: ["!dependabot/**", "!wip-*"] } };
  assert.equal(decide("pull_request", pr("main", "feature/x"), only).outcome, "work");
  assert.equal(decide("pull_request", pr("release/1.2", "fix"), only).outcome, "work");
  assert.equal(
    reasonOf(decide("pull_request", pr("release/1.2/hotfix", "fix"), only)),
    "the pull request's base branch release/1.2/hotfix matches none of main, release/*",
  );
  assert.equal(
    reasonOf(decide("pull_request", pr("main", "dependabot/npm_and_yarn/lodash-4.17.21"), only)),
    "the pull request's head branch dependabot/npm_and_yarn/lodash-4.17.21 is excluded by !dependabot/**",
  );
  assert.equal(
    reasonOf(decide("pull_request", pr("main", "wip-thing"), only)),
    "the pull request's head branch wip-thing is excluded by !wip-*",
  );
  // GitHub's example targets master: with no patterns any branch is taken.
  assert.equal(decide("pull_request", labeled("pull_request", "opened")).outcome, "work");
});

test("filters come after the repo's own rules: an unlabeled issue still says it lacks the label", () => {
  const p = githubExample("issues", "opened");
  p.sender = { ...p.sender, ...botUser() };
  assert.equal(reasonOf(decide("issues", p)), "the issue has none of the repo's labels");
  // The pure decision names the first filter that holds.
  assert.equal(
    filterReason(
      { actors: [{ login: "mesh-six-agent", role: "the sender" }], noun: "issue", labels: ["wontfix"] },
      { ...defaults, excludeLabels: ["wontfix"] },
      agents,
    ),
    "the sender mesh-six-agent is one of the agents",
  );
});
