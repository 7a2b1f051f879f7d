// Signed deliveries of GitHub's own example payloads through the server: what the repo's filters keep from agents
// is recorded on the delivery with its reason and makes no work item and no task; what passes makes both.
import assert from "node:assert/strict";
import { test } from "node:test";
import { registerAgent } from "../../testkit/agents";
import { botUser, githubExample, type Payload } from "../../testkit/github-payloads";
import { deliver, processedRow, registerRepo, startWebhookServer, workItems } from "../../testkit/webhooks";

const AGENT = "mesh-six-agent";

/** The example addressed to the repo, with the repo's label on its issue or pull request. */
function example(fullName: string, event: string, action: string, adjust: (p: Payload) => void = () => undefined): Payload {
  const p = githubExample(event, action, fullName);
  const labels = [{ name: "mesh-six" }];
  if (p.issue) p.issue.labels = labels;
  if (p.pull_request) p.pull_request.labels = labels;
  if (p.label) p.label = { ...p.label, name: "mesh-six" };
  adjust(p);
  return p;
}

test("filtered deliveries are recorded with their reason and make no task; the others make one each", async () => {
  const srv = await startWebhookServer({ startDispatcher: false });
  try {
    const repo = await registerRepo(srv, {
      labels: ["mesh-six"],
      filters: { excludeLabels: ["wontfix"], ignoredLogins: ["release-robot"], pullRequests: { baseBranches: ["main", "master"] } },
    });
    // The agent says who it is on GitHub when it registers: its own comments are then never work.
    await registerAgent(srv, "planner-1", "http://127.0.0.1:9/tasks", { planning: 1 }, { githubLogin: AGENT });

    const cases: { name: string; event: string; payload: Payload; expect: "processed" | RegExp }[] = [
      { name: "a person labels an issue", event: "issues", payload: example(repo.fullName, "issues", "labeled"), expect: "processed" },
      {
        name: "the agent comments on it",
        event: "issue_comment",
        payload: example(repo.fullName, "issue_comment", "created", (p) => {
          p.comment!.user = { ...p.comment!.user, login: AGENT };
          p.sender = { ...p.sender, login: AGENT };
        }),
        expect: /the sender mesh-six-agent is one of the agents/,
      },
      {
        name: "a bot comments",
        event: "issue_comment",
        payload: example(repo.fullName, "issue_comment", "created", (p) => {
          p.comment!.user = { ...p.comment!.user, ...botUser() };
          p.sender = { ...p.sender, ...botUser() };
        }),
        expect: /the sender github-actions\[bot\] is a bot/,
      },
      {
        name: "an ignored login comments",
        event: "issue_comment",
        payload: example(repo.fullName, "issue_comment", "created", (p) => {
          p.sender = { ...p.sender, login: "release-robot" };
        }),
        expect: /the sender release-robot is an ignored login/,
      },
      {
        name: "an issue marked wontfix",
        event: "issues",
        payload: example(repo.fullName, "issues", "opened", (p) => p.issue!.labels.push({ name: "wontfix" })),
        expect: /the issue has the excluded label wontfix/,
      },
      {
        name: "a draft pull request",
        event: "pull_request",
        payload: example(repo.fullName, "pull_request", "opened", (p) => (p.pull_request!.draft = true)),
        expect: /the pull request is a draft/,
      },
      {
        name: "it is marked ready for review",
        event: "pull_request",
        payload: example(repo.fullName, "pull_request", "ready_for_review"),
        expect: "processed",
      },
      {
        name: "a pull request into develop",
        event: "pull_request",
        payload: example(
          repo.fullName,
          "pull_request",
          "opened",
          (p) => (p.pull_request!.base = { ...p.pull_request!.base, ref: "develop" }),
        ),
        expect: /base branch develop matches none of main, master/,
      },
      {
        name: "dependabot's pull request",
        event: "pull_request",
        payload: example(
          repo.fullName,
          "pull_request",
          "opened",
          (p) => (p.pull_request!.user = { ...p.pull_request!.user, ...botUser("dependabot") }),
        ),
        expect: /the pull request's author dependabot\[bot\] is a bot/,
      },
    ];

    const table: string[] = ["| delivery | event.action | status | reason | tasks |", "|---|---|---|---|---|"];
    for (const c of cases) {
      const sent = await deliver(srv, repo.url, JSON.stringify(c.payload), { secret: repo.secret, event: c.event });
      assert.equal(sent.status, 202, c.name);
      const row = await processedRow(srv, sent.deliveryId);
      const { rows } = await srv.db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM tasks WHERE payload::json->>'deliveryId' = $1",
        [sent.deliveryId],
      );
      table.push(`| ${c.name} | ${row.event}.${row.action} | ${row.status} | ${row.reason ?? ""} | ${rows[0].n} |`);
      if (c.expect === "processed") {
        assert.equal(row.status, "processed", `${c.name}: ${row.reason}`);
        assert.equal((await workItems(srv, sent.deliveryId)).length, 1, c.name);
        assert.equal(rows[0].n, 1, `${c.name} makes its task`);
      } else {
        assert.equal(row.status, "ignored", c.name);
        assert.match(row.reason ?? "", c.expect, c.name);
        assert.deepEqual(await workItems(srv, sent.deliveryId), [], `${c.name} makes no work item`);
        assert.equal(rows[0].n, 0, `${c.name} makes no task`);
      }
    }
    console.log(table.join("\n"));
  } finally {
    await srv.close();
  }
});

test("a repo registered before filters existed (the column's '{}') gets the safe defaults", async () => {
  const srv = await startWebhookServer({ startDispatcher: false });
  try {
    const repo = await registerRepo(srv, { labels: ["mesh-six"] });
    const draft = example(repo.fullName, "pull_request", "opened", (p) => (p.pull_request!.draft = true));
    const sent = await deliver(srv, repo.url, JSON.stringify(draft), { secret: repo.secret, event: "pull_request" });
    const row = await processedRow(srv, sent.deliveryId);
    assert.deepEqual([row.status, row.reason], ["ignored", "the pull request is a draft"]);
  } finally {
    await srv.close();
  }
});
