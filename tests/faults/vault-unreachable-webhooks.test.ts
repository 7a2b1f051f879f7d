// Vault becomes unreachable in the middle of a burst of GitHub deliveries to the real server process. Secrets
// already cached keep verifying; a delivery whose secret must be read is refused with a retryable 503 (never
// accepted unverified, never a 401 that would make GitHub mark the hook as failing); once Vault is back, the
// refused deliveries are redelivered with their ids, as GitHub's "Redeliver" does, and every accepted delivery
// ends up stored and processed exactly once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { vaultWebhookPath } from "../../domain/names";
import { type FaultServer, startFaultServer } from "../../testkit/fault-server";
import { linesWithSecrets, recordFault } from "../../testkit/fault-report";
import { type TestServer, waitFor } from "../../testkit/server";
import { startTcpProxy, type TcpProxy } from "../../testkit/tcp-proxy";
import { deleteVaultSecret } from "../../testkit/vault-api";
import { deliver, issuePayload, type RegisteredRepo, registerRepo, repoPayload } from "../../testkit/webhooks";

const BURST = 60;
const CONCURRENCY = 4;
/** Vault is cut when this many burst deliveries have been answered. */
const CUT_AFTER = 10;
/** Burst deliveries before this index go to the cached repos and the first cold one only. */
const SECOND_HALF = 16;

interface Sent {
  repo: RegisteredRepo;
  deliveryId: string;
  event: string;
  body: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  answer: string;
}

let proxy: TcpProxy;
let fs: FaultServer;
const cached: RegisteredRepo[] = [];
const cold: RegisteredRepo[] = [];
const started = Date.now();

/** What the fixtures of testkit/webhooks.ts need of a server: its database and plain HTTP. */
const target = () =>
  ({ db: { pool: fs.pool }, request: (p: string, init?: RequestInit) => fetch(`${fs.server.url}${p}`, init) }) as unknown as TestServer;

async function send(repo: RegisteredRepo, event: string, body: string, deliveryId?: string): Promise<Sent> {
  const sentAt = Date.now();
  const res = await deliver(target(), repo.url, body, { event, secret: repo.secret, deliveryId });
  return {
    repo,
    deliveryId: res.deliveryId,
    event,
    body,
    sentAt,
    answeredAt: Date.now(),
    status: res.status,
    answer: JSON.stringify(res.json),
  };
}

before(
  async () => {
    const vault = new URL(process.env.VAULT_ADDR ?? "");
    proxy = await startTcpProxy({ host: vault.hostname, port: Number(vault.port) });
    fs = await startFaultServer({ env: { VAULT_ADDR: `http://${proxy.address}` } });
    for (let i = 0; i < 3; i++) cached.push(await registerRepo(target()));
    for (let i = 0; i < 3; i++) cold.push(await registerRepo(target()));
  },
  { timeout: 90_000 },
);

after(
  async () => {
    await fs?.cleanup([]);
    await proxy?.close();
    await Promise.all([...cached, ...cold].map((r) => deleteVaultSecret(vaultWebhookPath(r)).catch(() => undefined)));
  },
  { timeout: 60_000 },
);

test(
  "with Vault cut mid-burst, cached secrets keep verifying, the rest get a retryable 503, and redelivery loses nothing",
  { timeout: 60_000 },
  async (t) => {
    const warmUp = await Promise.all(cached.map((r) => send(r, "ping", repoPayload(r.fullName))));
    assert.deepEqual(
      warmUp.map((s) => s.status),
      [202, 202, 202],
    );

    // The second half reaches the cold repos that no delivery has touched yet: they are sure to come after the cut.
    const plan = Array.from({ length: BURST }, (_, i) => {
      const repo = i < SECOND_HALF ? [cold[0], ...cached][i % 4] : [...cached, ...cold][i % 6];
      return i % 2 === 0
        ? { repo, event: "issues", body: issuePayload(repo.fullName, { number: i + 1, labels: ["mesh-six"] }) }
        : { repo, event: "ping", body: repoPayload(repo.fullName) };
    });
    const burst: Sent[] = new Array(BURST);
    let next = 0;
    let answered = 0;
    let cutAt = Infinity;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < plan.length) {
          const i = next++;
          burst[i] = await send(plan[i].repo, plan[i].event, plan[i].body);
          if (++answered === CUT_AFTER) {
            proxy.cut();
            cutAt = Date.now();
          }
        }
      }),
    );
    assert.ok(cutAt < Infinity);
    const byStatus = (sent: { status: number }[]) =>
      sent.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
    t.diagnostic(`burst answers: ${JSON.stringify(byStatus(burst))}`);

    // Collected rather than asserted one by one, so that the record below describes a failing run too.
    const problems: string[] = [];
    for (const [i, s] of burst.entries()) {
      const what = `burst #${i} to ${s.repo.fullName}: ${s.status} ${s.answer}`;
      // Verified from the cache: a delivery sent after one to the same repo was accepted needs no Vault.
      const known = [...warmUp, ...burst].some((o) => o.repo === s.repo && o.status === 202 && o.answeredAt <= s.sentAt);
      if (![202, 503].includes(s.status)) problems.push(`${what}: neither accepted nor retryable`);
      else if ((known || s.answeredAt < cutAt) && s.status !== 202) problems.push(`${what}: its secret was at hand`);
      else if (cold.slice(1).includes(s.repo) && s.status !== 503) problems.push(`${what}: accepted with no secret to verify it`);
      else if (s.status === 503 && s.answer !== JSON.stringify({ error: "secret_store_unavailable" }))
        problems.push(`${what}: not the retryable error`);
    }
    const refused = burst.filter((s) => s.status === 503);
    // Forgeries while Vault is away: never accepted, and never stored, whether the secret was cached or not.
    const forged = await Promise.all(
      [cached[0], cold[1]].map(async (repo) => {
        const res = await deliver(target(), repo.url, repoPayload(repo.fullName), { event: "ping", secret: "not-the-secret-0123456789" });
        return { repo, status: res.status, deliveryId: res.deliveryId };
      }),
    );
    for (const f of forged) if (f.status < 400) problems.push(`a forged delivery to ${f.repo.fullName} was answered ${f.status}`);
    const storedEarly = await fs.pool.query("SELECT delivery_id FROM webhook_deliveries WHERE delivery_id = ANY($1)", [
      [...refused, ...forged].map((s) => s.deliveryId),
    ]);
    if (storedEarly.rowCount) problems.push(`${storedEarly.rowCount} refused or forged deliveries were stored`);
    const healthzDuringOutage = (await fetch(`${fs.server.url}/healthz`)).status;

    proxy.restore();
    const redelivered = await Promise.all(refused.map((s) => send(s.repo, s.event, s.body, s.deliveryId)));
    for (const s of redelivered) if (s.status !== 202) problems.push(`redelivery to ${s.repo.fullName}: ${s.status} ${s.answer}`);
    // A second redelivery of an accepted delivery is recognised, not stored again.
    const again = redelivered.length
      ? await send(redelivered[0].repo, redelivered[0].event, redelivered[0].body, redelivered[0].deliveryId)
      : undefined;

    const accepted = [...warmUp, ...burst, ...redelivered].filter((s) => s.status === 202);
    const acceptedIds = accepted.map((s) => s.deliveryId);
    const processed = async () =>
      (
        await fs.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM webhook_deliveries WHERE delivery_id = ANY($1) AND status IN ('processed', 'ignored')",
          [acceptedIds],
        )
      ).rows[0].n;
    const finished = await waitFor(
      async () => ((await processed()) === acceptedIds.length ? true : undefined),
      "every accepted delivery to be processed",
      20_000,
    )
      .then(() => acceptedIds.length)
      .catch(processed);
    const total = (await fs.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_deliveries")).rows[0].n;
    const issues = accepted.filter((s) => s.event === "issues").map((s) => s.deliveryId);
    // One task per accepted issue delivery, however many times it was delivered.
    const tasks = await fs.pool.query<{ n: number }>(
      "SELECT count(t.id)::int AS n FROM webhook_work_items w JOIN tasks t ON t.id = w.task_id WHERE w.delivery_id = ANY($1) GROUP BY w.delivery_id",
      [issues],
    );
    const deliveries = { accepted: acceptedIds.length, accounted: finished };
    const taskLedger = { accepted: issues.length, accounted: tasks.rows.filter((r) => r.n === 1).length };

    const lines = fs.server.logs;
    const secrets = [...(await fs.secrets([])), ...cached.map((r) => r.secret), ...cold.map((r) => r.secret)];
    const leaks = linesWithSecrets([...lines, ...burst.map((s) => s.answer)], secrets);
    const sent = [...warmUp, ...burst, ...forged, ...redelivered, ...(again ? [again] : [])];
    recordFault({
      fault: "Vault unreachable during a webhook burst",
      injected: `Vault cut (TCP proxy) after ${CUT_AFTER} of ${BURST} signed deliveries to ${cached.length} repos with a cached secret and ${cold.length} never seen (one of them reached before the cut), plus ${forged.length} forged; restored, then the refused ones redelivered with their ids`,
      outcome:
        problems.length === 0
          ? `cached secrets kept verifying (202); ${refused.length} deliveries needing Vault got 503 secret_store_unavailable and forgeries 401/503, none stored; all accepted on redelivery, each processed once`
          : `${problems.length} wrong answers: ${problems[0]}`,
      runs: { accepted: 0, accounted: 0 },
      deliveries,
      tasks: taskLedger,
      requests: { sent: sent.length, byStatus: byStatus(sent) },
      logLines: lines.length,
      secretsInLogs: leaks.length,
      durationMs: Date.now() - started,
    });

    assert.deepEqual(problems, []);
    assert.ok(refused.length >= (2 * (BURST - SECOND_HALF)) / 6, `only ${refused.length} deliveries needed Vault while it was away`);
    assert.equal(healthzDuringOutage, 200);
    assert.ok(again, "nothing was refused, so nothing was redelivered");
    assert.equal(again.status, 200);
    assert.deepEqual(JSON.parse(again.answer), { status: "duplicate", deliveryId: again.deliveryId });
    assert.equal(new Set(acceptedIds).size, warmUp.length + BURST, "every delivery accepted once in the end");
    assert.deepEqual(deliveries, { accepted: warmUp.length + BURST, accounted: warmUp.length + BURST });
    assert.equal(total, acceptedIds.length, "a delivery row that was never accepted");
    assert.deepEqual(taskLedger, { accepted: issues.length, accounted: issues.length });
    assert.deepEqual(leaks, [], "a secret reached a log line or an answer");
  },
);
