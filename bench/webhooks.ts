/**
 * Webhook receiving: deliveries per second and latency of the real server process, its secret cache warm and
 * cold, against two reference receivers (secrets in memory): one that only verifies, and one that verifies and
 * INSERTs each delivery into the same database, which is what ours is measured against; all driven by the same
 * autocannon load in the same run. Writes the `webhooks` section of docs/BENCHMARKS.md.
 *
 *   node --import tsx bench/webhooks.ts [--quick]     (bench/run webhooks sets up the sandbox first)
 */
import os from "node:os";
import { Pool } from "pg";
import { type ServerProcess, startServerProcess } from "../testkit/server-process";
import { vaultWebhookPath } from "../domain/names";
import { deleteVaultSecret } from "../testkit/vault-api";
import { newSecret, registerRepo, uniqueOwner } from "../testkit/webhooks";
import { BENCH_SERVER_ENV, createEmptyDatabase } from "./lib/onboarding-server";
import { type ReferenceWebhookServer, type RepoSecret, startReferenceWebhookServer } from "./lib/reference-webhook-server";
import { median, table, writeSection } from "../testkit/report";
import { deliveryCount, drainDeliveries } from "./lib/webhook-ledger";
import { type LoadResult, loadWebhooks, prepareDeliveries, WEBHOOK_EVENT } from "./lib/webhook-load";
import { startVaultReadCounter, type VaultReadCounter } from "./lib/webhook-vault-counter";
import { type CpuGroups, cpuPerItem, postgresServer, processGroupOf, processPid, sampleCpu, thisProcess } from "./lib/process-cpu";

const QUICK = process.argv.includes("--quick");
const RUNS = 3;
const RUN_SECONDS = QUICK ? 3 : 10;
const REPOS = 20;
const CONNECTIONS = 10;
const WARM_UP_SECONDS = QUICK ? 1 : 2;
const CACHE_CHECK_REQUESTS = QUICK ? 200 : 400;
const WARM_TTL_MS = 3_600_000;

const REFERENCE_TABLE = "bench_reference_deliveries";
const VERIFY_ONLY = "reference: verify only";
const REFERENCE = "reference: verify + INSERT";

interface Target {
  name: string;
  url: string;
  /** The database whose delivery rows are checked against the 2xx answers; none for the verify-only reference. */
  pool?: Pool;
  /** The table those rows land in (the persisting reference's copy; the server's own by default). */
  table?: string;
  /** The server: every stored delivery must also have been processed before the next run. */
  processes?: boolean;
  /** The receiver's processes, for its CPU per delivery. */
  receiver: CpuGroups[string];
}

/** CPU µs per delivery: the receiver's, PostgreSQL's, the load generator's (this process). */
type CpuPerDelivery = Record<"receiver" | "postgres" | "load" | "total", number>;
type Measured = LoadResult & { cpu: CpuPerDelivery };

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through bench/run, or source .sandbox/env`);
  return value;
}

const serverFor = (databaseUrl: string, ttlMs: number, vaultAddr?: string) =>
  startServerProcess({
    env: {
      DATABASE_URL: databaseUrl,
      ...BENCH_SERVER_ENV,
      MESH_SIX_WEBHOOK_SECRET_TTL_MS: String(ttlMs),
      ...(vaultAddr ? { VAULT_ADDR: vaultAddr } : {}),
    },
  });

/** One load run; for a server, checks that every 2xx is a stored delivery and that all were processed. */
async function measure(
  target: Target,
  deliveries: ReturnType<typeof prepareDeliveries>,
  load: { amount: number } | { seconds: number },
): Promise<Measured> {
  const before = target.pool ? await deliveryCount(target.pool, target.table) : 0;
  const groups = { receiver: target.receiver, postgres: postgresServer, load: thisProcess };
  const cpuBefore = sampleCpu(groups);
  const result = await loadWebhooks(target.url, deliveries, { connections: CONNECTIONS, ...load });
  const problems: string[] = [];
  if (result.non2xx || result.errors || result.timeouts)
    problems.push(`${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  if (target.pool) {
    const stored = (await deliveryCount(target.pool, target.table)) - before;
    if (stored !== result.ok) problems.push(`${result.ok} deliveries acknowledged but ${stored} new rows stored`);
    if (target.processes) {
      const byStatus = await drainDeliveries(target.pool);
      if (byStatus.failed) problems.push(`${byStatus.failed} deliveries failed in processing`);
    }
  }
  if (problems.length > 0) throw new Error(`${target.name}: ${problems.join("; ")}`);
  return { ...result, cpu: cpuPerItem(cpuBefore, sampleCpu(groups), result.ok) as CpuPerDelivery };
}

/** Starts them all at once (a server takes seconds to start); every one started is in `into`, for the clean-up. */
async function startServers(into: ServerProcess[], starts: Promise<ServerProcess>[]): Promise<ServerProcess[]> {
  const settled = await Promise.allSettled(starts);
  for (const s of settled) if (s.status === "fulfilled") into.push(s.value);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ServerProcess>).value);
}

/** Vault reads a server made for CACHE_CHECK_REQUESTS deliveries, counted by the proxy it reads Vault through. */
async function vaultReads(
  server: ServerProcess,
  counter: VaultReadCounter,
  pool: Pool,
  deliveries: ReturnType<typeof prepareDeliveries>,
): Promise<number> {
  await measure({ name: "cache check", url: server.url, pool, processes: true, receiver: processGroupOf(server.pid) }, deliveries, {
    amount: CACHE_CHECK_REQUESTS,
  });
  await server.stop();
  return counter.reads();
}

const fmtMs = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
const fmtRatio = (v: number) => `${v.toFixed(2)}×`;

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = os.loadavg()[0];
  const db = await createEmptyDatabase(env("DATABASE_URL"), "bench_hooks");
  const servers: ServerProcess[] = [];
  const repos: RepoSecret[] = [];
  let pool: Pool | undefined;
  const counters: VaultReadCounter[] = [];
  const references: ReferenceWebhookServer[] = [];
  try {
    // The first server migrates the empty database; the others find it migrated.
    const [warm] = await startServers(servers, [serverFor(db.url, WARM_TTL_MS)]);
    for (let i = 0; i < 2; i++) counters.push(await startVaultReadCounter(env("VAULT_ADDR")));
    const [cold, coldCheck, warmCheck] = await startServers(servers, [
      serverFor(db.url, 0),
      serverFor(db.url, 0, counters[0].url),
      serverFor(db.url, WARM_TTL_MS, counters[1].url),
    ]);
    pool = new Pool({ connectionString: db.url, max: 4 });
    for (let i = 0; i < REPOS; i++) {
      const r = await registerRepo({ db: { ...db, pool } }, {}, newSecret(), uniqueOwner("bench"));
      repos.push({ owner: r.owner, repo: r.repo, secret: r.secret });
    }
    await pool.query(`CREATE TABLE ${REFERENCE_TABLE} (LIKE webhook_deliveries INCLUDING ALL)`);
    const verifyOnly = await startReferenceWebhookServer(repos);
    references.push(verifyOnly);
    const reference = await startReferenceWebhookServer(repos, { databaseUrl: db.url, table: REFERENCE_TABLE });
    references.push(reference);
    const deliveries = prepareDeliveries(repos);

    console.error(`checking the secret cache through a counting proxy (${CACHE_CHECK_REQUESTS} deliveries each)`);
    const coldReads = await vaultReads(coldCheck, counters[0], pool, deliveries);
    const warmReads = await vaultReads(warmCheck, counters[1], pool, deliveries);
    if (warmReads > REPOS) throw new Error(`warm cache: ${warmReads} Vault reads for ${REPOS} repos`);
    // Two deliveries of one repo in flight at once share a read; round-robin over 20 repos with 10 connections makes that rare.
    if (coldReads < CACHE_CHECK_REQUESTS * 0.9)
      throw new Error(`cold cache: only ${coldReads} Vault reads for ${CACHE_CHECK_REQUESTS} deliveries`);

    const targets: Target[] = [
      { name: VERIFY_ONLY, url: verifyOnly.url, receiver: processPid(verifyOnly.pid) },
      { name: REFERENCE, url: reference.url, pool, table: REFERENCE_TABLE, receiver: processPid(reference.pid) },
      { name: "ours, warm", url: warm.url, pool, processes: true, receiver: processGroupOf(warm.pid) },
      { name: "ours, cold", url: cold.url, pool, processes: true, receiver: processGroupOf(cold.pid) },
    ];
    // Warms up JIT, connections and caches.
    for (const t of targets) await measure(t, deliveries, { seconds: WARM_UP_SECONDS });
    const results = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
    for (let run = 1; run <= RUNS; run++) {
      for (const t of targets) {
        const r = await measure(t, deliveries, { seconds: RUN_SECONDS });
        results.get(t.name)!.push(r);
        console.error(
          `run ${run} ${t.name}: ${r.rate.toFixed(0)} deliveries/s, p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)} (${r.ok} in ${r.durationS.toFixed(2)} s)`,
        );
      }
    }

    const ref = results.get(REFERENCE)!;
    // Ratios pair each run with the reference's run of the same round.
    const vsRef = (rs: Measured[], pick: (r: Measured) => number) => median(rs.map((r, i) => pick(r) / pick(ref[i])));
    const us = (v: number) => `${Math.round(v)} µs`;
    const cpuRows = targets.map((t) => {
      const rs = results.get(t.name)!;
      const cpu = (k: keyof CpuPerDelivery) => us(median(rs.map((r) => r.cpu[k])));
      return [t.name, cpu("receiver"), cpu("postgres"), cpu("load"), cpu("total"), fmtRatio(vsRef(rs, (r) => r.cpu.total))];
    });
    const rows = targets.map((t) => {
      const rs = results.get(t.name)!;
      const own = [`${median(rs.map((r) => r.rate)).toFixed(0)}`, fmtMs(median(rs.map((r) => r.p50))), fmtMs(median(rs.map((r) => r.p99)))];
      const ratios = [fmtRatio(vsRef(rs, (r) => r.rate)), fmtRatio(vsRef(rs, (r) => r.p50)), fmtRatio(vsRef(rs, (r) => r.p99))];
      return [t.name, ...own, ...ratios];
    });
    const stored = [...results.entries()]
      .filter(([name]) => name.startsWith("ours"))
      .flatMap(([, rs]) => rs)
      .reduce((n, r) => n + r.ok, 0);
    const body = [
      `Deliveries of \`${WEBHOOK_EVENT}\` / \`opened\` (about ${(deliveries[0].body.length / 1024).toFixed(1)} KiB, shaped as GitHub sends them) over loopback by autocannon, ${CONNECTIONS} connections, round-robin over ${REPOS} registered repos, each signed (X-Hub-Signature-256) with its repo's own secret from Vault and carrying a unique X-GitHub-Delivery. The issue has none of the repos' configured labels, so the server verifies it, decides from its registry row that it is \`ignored\` (nothing to do), and stores it as such before it acknowledges (202): nothing is left to do after the answer.`,
      "",
      `- **${VERIFY_ONLY}**: a minimal receiver in its own process: node:http, raw body, \`new Webhooks({ secret }).verify(body, signature)\` of @octokit/webhooks with the ${REPOS} secrets in memory, 202 or 401. No Vault, no database.`,
      `- **${REFERENCE}** (what ours is measured against): the same, verifying with \`verify(secret, body, signature)\` of @octokit/webhooks-methods, then the body parsed for its action and one INSERT of the delivery (id, owner, repo, event, action, payload) into a copy of webhook_deliveries on the server's database (\`${REFERENCE_TABLE}\`, a pool of 10 as the server's), 202 once it committed. No Vault, no registry look-up, no processing.`,
      `- **ours, warm**: the server process (server/main.ts) on its own PostgreSQL database, secrets cached for ${WARM_TTL_MS / 60_000} min (MESH_SIX_WEBHOOK_SECRET_TTL_MS): after the first delivery of each repo, no Vault round trip.`,
      `- **ours, cold**: the same with MESH_SIX_WEBHOOK_SECRET_TTL_MS=0: every delivery reads its repo's secret from Vault (KV v2 over HTTP) before verifying; only deliveries of the same repo in flight at the same moment share one read.`,
      "",
      `Cache check (a counting proxy in front of Vault, ${CACHE_CHECK_REQUESTS} deliveries each): cold made ${coldReads} Vault reads (${(coldReads / CACHE_CHECK_REQUESTS).toFixed(2)} per delivery), warm made ${warmReads} (one per repo).`,
      "",
      table(
        ["receiver", "deliveries/s", "p50", "p99", "deliveries/s vs verify + INSERT", "p50 vs verify + INSERT", "p99 vs verify + INSERT"],
        rows,
      ),
      "",
      "CPU time per delivery (the scheduler's time of each thread, from /proc before and after each timed run, through the processing after the answers), by process: the receiver (the server process, or the reference's), PostgreSQL's backends, and the load generator (autocannon, this process). On these 2 cores the processes share, the rates follow the total:",
      "",
      table(["receiver", "receiver process", "PostgreSQL", "load generator", "total", "total vs verify + INSERT"], cpuRows),
      "",
      `Medians of ${RUNS} runs per receiver of at least ${RUN_SECONDS} s each (after a ${WARM_UP_SECONDS} s warm-up), interleaved verify only → verify + INSERT → warm → cold; a run is a series of fixed-count batches of about a second, each answered in full, so that every answer is counted; ratios are each receiver ÷ verify + INSERT within the same round. Checked after every run: no non-2xx answer, no socket error; the 2xx answers equal the new rows of the receiver's table (${stored} of webhook_deliveries in ours' timed runs), and every delivery ours stored was processed before the next run.`,
      "",
      `Whole benchmark: ${((Date.now() - started) / 1000).toFixed(0)} s; load average at its start ${loadAtStart.toFixed(1)} on ${os.cpus().length} CPUs (the machine is shared: compare ratios, not absolute figures, across sections).`,
    ].join("\n");
    writeSection("webhooks", "Webhook deliveries", `bench/run webhooks${QUICK ? " --quick" : ""}`, body);
    console.log(body);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(references.map((r) => r.stop()));
    await Promise.all(counters.map((c) => c.close()));
    await Promise.all(repos.map((r) => deleteVaultSecret(vaultWebhookPath(r))));
    await pool?.end();
    await db.drop();
  }
}

main().catch((err: Error) => {
  console.error(`bench webhooks failed: ${err.message}`);
  process.exit(1);
});
