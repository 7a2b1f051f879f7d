// After a delivery is verified: secret rotation through Vault, what turns into a work item (labels, authors,
// pull requests, project-board moves on the organization route), and failures kept on the delivery row.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebhookSecretCache } from "../../server/webhooks/secret-cache";
import { vaultKvReader } from "../../server/webhooks/vault-kv";
import { vaultOrgWebhookPath, vaultWebhookPath } from "../../domain/names";
import { writeVaultSecret } from "../../testkit/vault-api";
import {
  deliver,
  issuePayload,
  newSecret,
  processedRow,
  registerRepo,
  repoPayload,
  startWebhookServer,
  uniqueOwner,
  webhookConfig,
  taskOf,
  workItems,
} from "../../testkit/webhooks";

/** A cache over the sandbox's Vault that counts its reads. */
function countingCache(opts: { fallbackSecret?: string } = {}) {
  const config = webhookConfig();
  const read = vaultKvReader({ addr: config.vaultAddr, token: config.vaultToken });
  const reads: string[] = [];
  const cache = new WebhookSecretCache({
    ...opts,
    read: (path) => {
      reads.push(path);
      return read(path);
    },
  });
  return { cache, reads };
}

test("a rotated secret: the cached old one fails, one re-read from Vault succeeds, the old one is then refused", async () => {
  const { cache, reads } = countingCache();
  const srv = await startWebhookServer({ webhookSecrets: cache });
  try {
    const repo = await registerRepo(srv);
    const body = repoPayload(repo.fullName);
    assert.equal((await deliver(srv, repo.url, body, { secret: repo.secret })).status, 202);
    assert.equal(reads.length, 1);
    assert.equal((await deliver(srv, repo.url, body, { secret: repo.secret })).status, 202);
    assert.equal(reads.length, 1, "a cached secret costs no Vault read");

    const rotated = newSecret();
    await writeVaultSecret(vaultWebhookPath(repo), { secret: rotated });
    assert.equal((await deliver(srv, repo.url, body, { secret: rotated })).status, 202);
    assert.equal(reads.length, 2, "the failed check against the cached secret re-read Vault once");

    const old = await deliver(srv, repo.url, body, { secret: repo.secret });
    assert.deepEqual([old.status, old.json], [401, { error: "signature_mismatch" }]);
    assert.equal(reads.length, 2, "forged or stale signatures do not turn into a Vault read each");
  } finally {
    await srv.close();
  }
});

test("during a rotation window both the new secret and the previous one are accepted", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    const next = newSecret();
    await writeVaultSecret(vaultWebhookPath(repo), { secret: next, previous: repo.secret });
    const body = repoPayload(repo.fullName);
    assert.equal((await deliver(srv, repo.url, body, { secret: repo.secret })).status, 202);
    assert.equal((await deliver(srv, repo.url, body, { secret: next })).status, 202);
    assert.equal((await deliver(srv, repo.url, body, { secret: newSecret() })).status, 401);
  } finally {
    await srv.close();
  }
});

test("the global fallback secret is accepted only when configured, and only for known repositories", async () => {
  const fallback = newSecret();
  const without = await startWebhookServer();
  try {
    const repo = await registerRepo(without);
    assert.equal((await deliver(without, repo.url, repoPayload(repo.fullName), { secret: fallback })).status, 401);
  } finally {
    await without.close();
  }
  const srv = await startWebhookServer({ webhooks: { fallbackSecret: fallback } });
  try {
    const repo = await registerRepo(srv);
    assert.equal((await deliver(srv, repo.url, repoPayload(repo.fullName), { secret: fallback })).status, 202);
    const noSecret = await registerRepo(srv, {}, null);
    assert.equal((await deliver(srv, noSecret.url, repoPayload(noSecret.fullName), { secret: fallback })).status, 404);
  } finally {
    await srv.close();
  }
});

test("an issue without one of the repo's labels makes no work item; with one it makes one, and its dispatch task", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv, { labels: ["agents", "mesh-six"] });
    const unlabeled = await deliver(srv, repo.url, issuePayload(repo.fullName, { labels: ["bug"] }), {
      secret: repo.secret,
      event: "issues",
    });
    assert.equal(unlabeled.status, 202);
    const ignored = await processedRow(srv, unlabeled.deliveryId);
    assert.equal(ignored.status, "ignored");
    assert.match(ignored.reason ?? "", /none of the repo's labels/);
    assert.deepEqual(await workItems(srv, unlabeled.deliveryId), []);

    const labeled = await deliver(srv, repo.url, issuePayload(repo.fullName, { labels: ["bug", "Agents"], number: 12 }), {
      secret: repo.secret,
      event: "issues",
    });
    assert.equal((await processedRow(srv, labeled.deliveryId)).status, "processed");
    const [item, ...rest] = await workItems(srv, labeled.deliveryId);
    assert.equal(rest.length, 0);
    assert.equal(item.kind, "issue");
    assert.equal(item.issue_number, 12);
    assert.equal(item.owner, repo.owner);
    assert.equal(item.repo, repo.repo);
    assert.deepEqual((item.payload.issue as { labels: string[] }).labels, ["Agents"]);
    assert.equal(item.payload.action, "opened");
    // The work goes to agents as a dispatch task, created with the item.
    const task = await taskOf(srv, item);
    assert.equal(task.capability, "planning");
    assert.equal(task.owner, repo.owner);
    assert.equal(task.payload.issueNumber, 12);
    assert.equal(task.payload.deliveryId, labeled.deliveryId);
  } finally {
    await srv.close();
  }
});

test("adding a label makes work only when the added label is one of the repo's", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv, { labels: ["agents"] });
    const other = await deliver(
      srv,
      repo.url,
      issuePayload(repo.fullName, { action: "labeled", labels: ["agents", "bug"], added: "bug" }),
      { secret: repo.secret, event: "issues" },
    );
    assert.equal((await processedRow(srv, other.deliveryId)).status, "ignored");
    const ours = await deliver(srv, repo.url, issuePayload(repo.fullName, { action: "labeled", labels: ["agents"], added: "agents" }), {
      secret: repo.secret,
      event: "issues",
    });
    assert.equal((await workItems(srv, (await processedRow(srv, ours.deliveryId)).delivery_id)).length, 1);
  } finally {
    await srv.close();
  }
});

test("with allowed authors configured, only their issues and comments make work items", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv, { labels: ["agents"], allowedAuthors: ["Alice"] });
    const bob = await deliver(srv, repo.url, issuePayload(repo.fullName, { labels: ["agents"], author: "bob" }), {
      secret: repo.secret,
      event: "issues",
    });
    const bobRow = await processedRow(srv, bob.deliveryId);
    assert.equal(bobRow.status, "ignored");
    assert.match(bobRow.reason ?? "", /author is not allowed/);
    const alice = await deliver(srv, repo.url, issuePayload(repo.fullName, { labels: ["agents"], author: "alice" }), {
      secret: repo.secret,
      event: "issues",
    });
    await processedRow(srv, alice.deliveryId);
    assert.equal((await workItems(srv, alice.deliveryId)).length, 1);

    const issue = JSON.parse(issuePayload(repo.fullName, { labels: ["agents"], author: "bob" })).issue;
    const comment = (login: string) =>
      repoPayload(repo.fullName, { action: "created", issue, comment: { id: 1, body: "go", user: { login } } });
    const byBob = await deliver(srv, repo.url, comment("bob"), { secret: repo.secret, event: "issue_comment" });
    assert.equal((await processedRow(srv, byBob.deliveryId)).status, "ignored");
    const byAlice = await deliver(srv, repo.url, comment("ALICE"), { secret: repo.secret, event: "issue_comment" });
    await processedRow(srv, byAlice.deliveryId);
    const [item] = await workItems(srv, byAlice.deliveryId);
    assert.equal(item.kind, "issue-comment");
    assert.equal((item.payload.comment as { author: string }).author, "ALICE");
  } finally {
    await srv.close();
  }
});

test("pull request events make pull-request work items and review tasks; other actions are ignored", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    const pr = (action: string) =>
      repoPayload(repo.fullName, {
        action,
        number: 3,
        pull_request: {
          title: "Faster widgets",
          state: "open",
          user: { login: "agent" },
          head: { ref: "feat", sha: "abc" },
          base: { ref: "main", sha: "def" },
        },
      });
    const opened = await deliver(srv, repo.url, pr("opened"), { secret: repo.secret, event: "pull_request" });
    await processedRow(srv, opened.deliveryId);
    const [item] = await workItems(srv, opened.deliveryId);
    assert.equal(item.kind, "pull-request");
    assert.equal(item.issue_number, 3);
    assert.deepEqual((item.payload.pullRequest as { head: unknown }).head, { ref: "feat", sha: "abc" });
    assert.equal((await taskOf(srv, item)).capability, "review");
    const assigned = await deliver(srv, repo.url, pr("assigned"), { secret: repo.secret, event: "pull_request" });
    assert.equal((await processedRow(srv, assigned.deliveryId)).status, "ignored");
  } finally {
    await srv.close();
  }
});

test("a delivery whose processing fails is kept on its row as failed, and GitHub's redelivery takes it again", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    const broken = repoPayload(repo.fullName, { action: "opened", issue: { title: 42 } });
    const first = await deliver(srv, repo.url, broken, { secret: repo.secret, event: "issues" });
    assert.equal(first.status, 202);
    const row = await processedRow(srv, first.deliveryId);
    assert.equal(row.status, "failed");
    assert.match(row.error ?? "", /issue\.number/);
    const metrics = await (await srv.request("/metrics", { token: null })).text();
    assert.match(metrics, /mesh_six_webhook_deliveries_total\{event="issues",outcome="failed"\} 1/);
    const redelivered = await deliver(srv, repo.url, issuePayload(repo.fullName, { labels: ["mesh-six"] }), {
      secret: repo.secret,
      event: "issues",
      deliveryId: first.deliveryId,
    });
    assert.equal(redelivered.status, 202);
    assert.equal((await processedRow(srv, first.deliveryId)).status, "processed");
  } finally {
    await srv.close();
  }
});

test("projects_v2_item events on the organization route update the board of the repo that owns the project", async () => {
  const srv = await startWebhookServer();
  try {
    const org = uniqueOwner("org");
    const orgSecret = newSecret();
    await writeVaultSecret(vaultOrgWebhookPath(org), { secret: orgSecret });
    const projectId = `PVT_${newSecret().slice(0, 10)}`;
    const repo = await registerRepo(
      srv,
      { projectId, statusFieldId: "PVTSSF_status", statusOptions: { Todo: "opt-todo", "In Progress": "opt-prog" } },
      undefined,
      org,
    );
    const item = { id: 1, node_id: "PVTI_1", project_node_id: projectId, content_node_id: "I_1", content_type: "Issue" };
    const moved = JSON.stringify({
      action: "edited",
      projects_v2_item: item,
      changes: {
        field_value: {
          field_node_id: "PVTSSF_status",
          field_type: "single_select",
          from: { id: "opt-todo", name: "Todo" },
          to: { id: "opt-prog", name: "In Progress" },
        },
      },
      organization: { login: org.toUpperCase() },
      sender: { login: "octocat" },
    });
    const url = `/webhooks/github-org/${org}`;
    const res = await deliver(srv, url, moved, { secret: orgSecret, event: "projects_v2_item" });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const row = await processedRow(srv, res.deliveryId);
    assert.deepEqual([row.status, row.owner, row.repo], ["processed", org, null]);
    const [update] = await workItems(srv, res.deliveryId);
    assert.deepEqual([update.kind, update.owner, update.repo], ["board-update", repo.owner, repo.repo]);
    assert.deepEqual(update.payload.status, {
      from: { optionId: "opt-todo", column: "Todo", state: "INTAKE" },
      to: { optionId: "opt-prog", column: "In Progress", state: "IMPLEMENTATION" },
    });

    // Another project's items are recorded as ignored; a repo's secret does not open the org route.
    const foreign = JSON.stringify({
      action: "created",
      projects_v2_item: { ...item, project_node_id: "PVT_other" },
      organization: { login: org },
    });
    const other = await deliver(srv, url, foreign, { secret: orgSecret, event: "projects_v2_item" });
    assert.equal((await processedRow(srv, other.deliveryId)).status, "ignored");
    assert.equal((await deliver(srv, url, moved, { secret: repo.secret, event: "projects_v2_item" })).status, 401);
    const mismatch = await deliver(
      srv,
      url,
      JSON.stringify({ action: "created", projects_v2_item: item, organization: { login: "someone-else" } }),
      { secret: orgSecret, event: "projects_v2_item" },
    );
    assert.deepEqual([mismatch.status, mismatch.json], [400, { error: "organization_mismatch" }]);
    const unknown = await deliver(srv, `/webhooks/github-org/${uniqueOwner("org")}`, moved, {
      secret: orgSecret,
      event: "projects_v2_item",
    });
    assert.deepEqual([unknown.status, unknown.json], [404, { error: "unknown_organization" }]);
  } finally {
    await srv.close();
  }
});

test("a delivery acknowledged but never processed (its process died) is taken up again by recover()", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv, { labels: ["agents"] });
    const payload = JSON.parse(issuePayload(repo.fullName, { labels: ["agents"] }));
    await srv.db.pool.query(
      `INSERT INTO webhook_deliveries (delivery_id, owner, repo, event, action, payload, received_at)
       VALUES ('orphan-1', $1, $2, 'issues', 'opened', $3, now() - interval '5 minutes')`,
      [repo.owner, repo.repo, JSON.stringify(payload)],
    );
    assert.equal(await srv.app.webhooks.recover(), 1);
    assert.equal((await processedRow(srv, "orphan-1")).status, "processed");
    assert.equal((await workItems(srv, "orphan-1")).length, 1);
    const { rows } = await srv.db.pool.query("SELECT payload FROM webhook_deliveries WHERE delivery_id = 'orphan-1'");
    assert.equal(rows[0].payload, null, "a processed delivery's payload is not kept");
    assert.equal(await srv.app.webhooks.recover(), 0);
  } finally {
    await srv.close();
  }
});
