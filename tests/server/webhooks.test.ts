// Receiving GitHub deliveries: signature checks over the raw body with each repo's secret from Vault, the
// answers to everything that is not a good delivery, and deduplication. Real HTTP, Postgres and Vault.
import assert from "node:assert/strict";
import { test } from "node:test";
import { legacyVaultWebhookPath, vaultOrgWebhookPath, vaultWebhookPath } from "../../domain/names";
import { startTestServer } from "../../testkit/server";
import { writeVaultSecret } from "../../testkit/vault-api";
import {
  deliver,
  deliveryRow,
  issuePayload,
  newSecret,
  processedRow,
  registerRepo,
  repoPayload,
  sign,
  startWebhookServer,
  uniqueOwner,
} from "../../testkit/webhooks";

test("a delivery signed with the repo's secret is accepted with 202 and persisted", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    // The URL may spell the repo in any case, as GitHub compares names.
    const res = await deliver(srv, repo.url.toLowerCase(), repoPayload(repo.fullName, { zen: "Keep it logically awesome." }), {
      secret: repo.secret,
    });
    assert.equal(res.status, 202);
    assert.deepEqual(res.json, { status: "accepted", deliveryId: res.deliveryId });
    const row = await processedRow(srv, res.deliveryId);
    assert.equal(row.owner, repo.owner);
    assert.equal(row.repo, repo.repo);
    assert.equal(row.event, "ping");
    assert.equal(row.status, "processed");
    assert.ok(row.processed_at);
    const metrics = await (await srv.request("/metrics", { token: null })).text();
    assert.match(metrics, /mesh_six_webhook_deliveries_total\{event="ping",outcome="accepted"\} 1/);
    assert.match(metrics, /mesh_six_webhook_deliveries_total\{event="ping",outcome="processed"\} 1/);
  } finally {
    await srv.close();
  }
});

test("a delivery signed with another repo's secret is refused with 401 signature_mismatch", async () => {
  const srv = await startWebhookServer();
  try {
    const a = await registerRepo(srv);
    const b = await registerRepo(srv);
    const res = await deliver(srv, a.url, repoPayload(a.fullName), { secret: b.secret });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, { error: "signature_mismatch" });
    assert.equal(await deliveryRow(srv, res.deliveryId), undefined);
  } finally {
    await srv.close();
  }
});

test("a verified body naming another repository than the URL is refused with 400", async () => {
  const srv = await startWebhookServer();
  try {
    const a = await registerRepo(srv);
    const b = await registerRepo(srv);
    const res = await deliver(srv, a.url, repoPayload(b.fullName), { secret: a.secret });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { error: "repository_mismatch" });
    const none = await deliver(srv, a.url, JSON.stringify({ zen: "no repository" }), { secret: a.secret });
    assert.deepEqual([none.status, none.json], [400, { error: "repository_mismatch" }]);
    assert.equal(await deliveryRow(srv, res.deliveryId), undefined);
  } finally {
    await srv.close();
  }
});

test("a missing signature is 401 signature_missing and a wrong one 401 signature_mismatch", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    const body = repoPayload(repo.fullName);
    const missing = await deliver(srv, repo.url, body);
    assert.deepEqual([missing.status, missing.json], [401, { error: "signature_missing" }]);
    for (const signature of [`sha256=${"0".repeat(64)}`, "sha256=short", sign(repo.secret, body).replace("sha256=", "sha1=")]) {
      const bad = await deliver(srv, repo.url, body, { signature });
      assert.deepEqual([bad.status, bad.json], [401, { error: "signature_mismatch" }], signature);
    }
    // Signed over other bytes than those sent (re-serialized JSON): the raw body is what counts.
    const reserialized = await deliver(srv, repo.url, body, { signature: sign(repo.secret, JSON.stringify(JSON.parse(body), null, 2)) });
    assert.equal(reserialized.status, 401);
  } finally {
    await srv.close();
  }
});

test("a body over the configured limit is refused with 413 payload_too_large", async () => {
  const srv = await startWebhookServer({ webhooks: { maxBodyBytes: 2048 } });
  try {
    const repo = await registerRepo(srv);
    const body = repoPayload(repo.fullName, { padding: "x".repeat(4096) });
    const res = await deliver(srv, repo.url, body, { secret: repo.secret });
    assert.deepEqual([res.status, res.json], [413, { error: "payload_too_large" }]);
    const small = await deliver(srv, repo.url, repoPayload(repo.fullName), { secret: repo.secret });
    assert.equal(small.status, 202);
  } finally {
    await srv.close();
  }
});

test("malformed JSON with a valid signature is 400 malformed_json", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    for (const body of ['{"repository": ', "[1,2]", "null"]) {
      const res = await deliver(srv, repo.url, body, { secret: repo.secret });
      assert.deepEqual([res.status, res.json], [400, { error: "malformed_json" }], body);
      assert.equal(await deliveryRow(srv, res.deliveryId), undefined);
    }
  } finally {
    await srv.close();
  }
});

test("form-encoded deliveries are accepted with their payload field; other content types are 415", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    const form = new URLSearchParams({ payload: repoPayload(repo.fullName) }).toString();
    const ok = await deliver(srv, repo.url, form, { secret: repo.secret, contentType: "application/x-www-form-urlencoded" });
    assert.equal(ok.status, 202);
    const noField = await deliver(srv, repo.url, "zen=1", { secret: repo.secret, contentType: "application/x-www-form-urlencoded" });
    assert.deepEqual([noField.status, noField.json], [400, { error: "malformed_json" }]);
    const text = await deliver(srv, repo.url, repoPayload(repo.fullName), { secret: repo.secret, contentType: "text/plain" });
    assert.deepEqual([text.status, text.json], [415, { error: "unsupported_content_type" }]);
  } finally {
    await srv.close();
  }
});

test("a delivery without X-GitHub-Event or X-GitHub-Delivery is 400", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv);
    const body = repoPayload(repo.fullName);
    const noEvent = await deliver(srv, repo.url, body, { secret: repo.secret, event: null });
    assert.deepEqual([noEvent.status, noEvent.json], [400, { error: "event_header_missing" }]);
    const noDelivery = await deliver(srv, repo.url, body, { secret: repo.secret, deliveryId: null });
    assert.deepEqual([noDelivery.status, noDelivery.json], [400, { error: "delivery_header_missing" }]);
  } finally {
    await srv.close();
  }
});

test("a repeated delivery id is answered 200 duplicate and stored once", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv, { labels: ["agents"] });
    const body = issuePayload(repo.fullName, { labels: ["agents"] });
    const first = await deliver(srv, repo.url, body, { secret: repo.secret, event: "issues" });
    assert.equal(first.status, 202);
    await processedRow(srv, first.deliveryId);
    const again = await deliver(srv, repo.url, body, { secret: repo.secret, event: "issues", deliveryId: first.deliveryId });
    assert.deepEqual([again.status, again.json], [200, { status: "duplicate", deliveryId: first.deliveryId }]);
    const { rows } = await srv.db.pool.query("SELECT count(*)::int AS n FROM webhook_work_items WHERE delivery_id = $1", [
      first.deliveryId,
    ]);
    assert.equal(rows[0].n, 1);
  } finally {
    await srv.close();
  }
});

test("an unknown repository is 404 unknown_repository: no registry row, or no secret in Vault", async () => {
  const srv = await startWebhookServer();
  try {
    const owner = uniqueOwner();
    const secret = newSecret();
    const unregistered = await deliver(srv, `/webhooks/github/${owner}/nothing`, repoPayload(`${owner}/nothing`), { secret });
    assert.deepEqual([unregistered.status, unregistered.json], [404, { error: "unknown_repository" }]);
    const noSecret = await registerRepo(srv, {}, null);
    const res = await deliver(srv, noSecret.url, repoPayload(noSecret.fullName), { secret });
    assert.deepEqual([res.status, res.json], [404, { error: "unknown_repository" }]);
    const invalid = await deliver(srv, "/webhooks/github/-bad-/x", repoPayload("-bad-/x"), { secret });
    assert.deepEqual([invalid.status, invalid.json], [404, { error: "unknown_repository" }]);
  } finally {
    await srv.close();
  }
});

test("a repo route naming a reserved owner is 404 and never verified with an organization's secret", async () => {
  const srv = await startWebhookServer();
  try {
    const org = uniqueOwner("org");
    const orgSecret = newSecret();
    await writeVaultSecret(vaultOrgWebhookPath(org), { secret: orgSecret });
    // A row validation would have refused (as one written before owners were checked against GitHub's reserved names).
    await srv.db.pool.query(
      `INSERT INTO repo_registry (full_name, owner, repo, stack_name, display_name, default_branch, webhook_secret_path, env_statefulset, env_namespace)
       VALUES ($1, 'orgs', $2, $3, $2, 'main', $4, 'env-x', 'mesh-six')`,
      [`orgs/${org}`, org, `orgs.${org}`, `mesh-six/webhooks/orgs/${org}`],
    );
    const res = await deliver(srv, `/webhooks/github/orgs/${org}`, repoPayload(`orgs/${org}`), { secret: orgSecret });
    assert.deepEqual([res.status, res.json], [404, { error: "unknown_repository" }]);
  } finally {
    await srv.close();
  }
});

test("a repo registered with the old secret path is verified with the secret there, and with the new one once registered", async () => {
  const srv = await startWebhookServer();
  try {
    const repo = await registerRepo(srv, {}, null);
    const ref = { owner: repo.owner, repo: repo.repo };
    const oldSecret = newSecret();
    await writeVaultSecret(legacyVaultWebhookPath(ref), { secret: oldSecret });
    await srv.db.pool.query("UPDATE repo_registry SET webhook_secret_path = $1 WHERE full_name = $2", [
      legacyVaultWebhookPath(ref),
      repo.fullName,
    ]);
    const before = await deliver(srv, repo.url, repoPayload(repo.fullName), { secret: oldSecret });
    assert.equal(before.status, 202, "the old path is read while the row names it");
    const newSecretValue = newSecret();
    await writeVaultSecret(vaultWebhookPath(ref), { secret: newSecretValue });
    await srv.db.pool.query("UPDATE repo_registry SET webhook_secret_path = $1 WHERE full_name = $2", [
      vaultWebhookPath(ref),
      repo.fullName,
    ]);
    const after = await deliver(srv, repo.url, repoPayload(repo.fullName), { secret: newSecretValue });
    assert.equal(after.status, 202, "the new path is read once the row names it");
  } finally {
    await srv.close();
  }
});

test("the body of a rejected delivery never reaches the logs", async () => {
  const marker = `SECRET-BODY-${newSecret()}`;
  const captured: string[] = [];
  const originals = { log: console.log, error: console.error, warn: console.warn, info: console.info };
  for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
    console[name] = (...args: unknown[]) => {
      captured.push(args.map(String).join(" "));
    };
  }
  const srv = await startWebhookServer({ webhooks: { maxBodyBytes: 4096 } });
  try {
    const repo = await registerRepo(srv);
    const other = await registerRepo(srv);
    const body = repoPayload(repo.fullName, { marker });
    const sent = [
      await deliver(srv, repo.url, body),
      await deliver(srv, repo.url, body, { secret: other.secret }),
      await deliver(srv, repo.url, `{"marker": "${marker}"`, { secret: repo.secret }),
      await deliver(srv, repo.url, repoPayload(other.fullName, { marker }), { secret: repo.secret }),
      await deliver(srv, `/webhooks/github/${uniqueOwner()}/x`, body, { secret: repo.secret }),
      await deliver(srv, repo.url, repoPayload(repo.fullName, { marker, pad: "x".repeat(8192) }), { secret: repo.secret }),
      await deliver(srv, repo.url, body, { secret: repo.secret, contentType: "text/plain" }),
    ];
    assert.deepEqual(
      sent.map((r) => r.status),
      [401, 401, 400, 400, 404, 413, 415],
    );
    // An accepted delivery whose processing fails logs the failure, not the payload.
    const failing = await deliver(srv, repo.url, repoPayload(repo.fullName, { action: "opened", issue: { marker } }), {
      secret: repo.secret,
      event: "issues",
    });
    assert.equal((await processedRow(srv, failing.deliveryId)).status, "failed");
    assert.ok(
      srv.logs.some((l) => l.includes("rejected (signature_mismatch)")),
      "rejections are logged",
    );
    // Each line about a delivery names it in its own field, as the platform's log search wants it.
    const entries = srv.logEntries();
    assert.deepEqual(
      entries.filter((e) => e.msg.includes(" rejected (")).map((e) => e.deliveryId),
      sent.map((r) => r.deliveryId),
    );
    assert.ok(
      entries.some((e) => e.deliveryId === failing.deliveryId && e.level === "error" && e.msg.startsWith("delivery (issues) failed")),
      "the failed processing is logged with its delivery id",
    );
    for (const line of [...srv.logs, ...captured]) assert.ok(!line.includes(marker), `logged a body: ${line}`);
  } finally {
    Object.assign(console, originals);
    await srv.close();
  }
});

test("webhooks without Vault configured answer 503", async () => {
  const srv = await startTestServer({ startQueue: false });
  try {
    const res = await deliver(srv, "/webhooks/github/acme/widgets", "{}", { signature: "sha256=00" });
    assert.deepEqual([res.status, res.json], [503, { error: "webhooks_not_configured" }]);
  } finally {
    await srv.close();
  }
});
