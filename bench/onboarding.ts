/**
 * Onboarding benchmarks (docs/BENCHMARKS.md, section "onboarding"), against the sandbox, with the real server
 * process, the real pulumi CLI and the project's own program:
 *   1. the server's overhead: a first onboarding through HTTP vs `pulumi up` of the same kind of repo stack from
 *      the CLI, samples alternated (server, CLI, server, CLI…) so drift of the machine hits both;
 *   2. re-onboards of the same repos vs their first onboarding: the identical request (answered up-to-date from its
 *      fingerprint, no Pulumi started) and the same request with `force: true` (a no-op `up`);
 *   3. 1/5/20 repos onboarded at once at run concurrency 1/2/4: wall time, per-repo time, peak memory of the
 *      server and of its Pulumi processes;
 *   4. `up` of a platform stack with 1 repo onboarded vs with every repo of this run onboarded (≥ 20 in full mode).
 * Every repo is a fresh name (owner bench-<random>), so every "first" onboarding is one; every stack is destroyed
 * at the end, and the database and the state backend are dropped.
 *   node --import tsx bench/onboarding.ts [--quick]   (through bench/run, which sets up the sandbox's env)
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { ServerProcess } from "../testkit/server-process";
import { type RepoRef, stackNameFor } from "../domain/names";
import { emulator } from "../testkit/github-emulator";
import { type CliRun, cliDestroy, cliUp, configureRepoStack } from "./lib/onboarding-cli";
import { type PlatformStack, createPlatformStack } from "./lib/onboarding-platform";
import { type PulumiEnv, type RunTiming, createEmptyDatabase, onboardOverHttp, startBenchServer } from "./lib/onboarding-server";
import { type MemoryPeaks, watchProcessTree } from "./lib/process-memory";
import { median, mib, ms, ratio, table, writeSection } from "../testkit/report";

const quick = process.argv.includes("--quick");
const plan = quick
  ? { samples: 2, repoCounts: [1, 5], concurrencies: [1, 2], platformFirstWithMany: false }
  : { samples: 3, repoCounts: [1, 5, 20], concurrencies: [1, 2, 4], platformFirstWithMany: true };
/** Stacks destroyed at once by the (unmeasured) clean-up. */
const CLEANUP_PARALLEL = 3;

const log = (message: string) => console.log(`[onboarding] ${message}`);

/** Names, the repos handed out, and what exists now (for the clean-up and the platform comparison). */
class Bench {
  readonly tag = randomBytes(3).toString("hex");
  readonly owner = `bench-${this.tag}`;
  readonly viaServer: RepoRef[] = [];
  readonly viaCli: string[] = [];
  readonly platforms: PlatformStack[] = [];
  /** Repo stacks brought up so far (server and CLI). */
  repoStacks = 0;

  constructor(readonly env: PulumiEnv) {}

  /** A new repository in the GitHub emulator; names of one purpose share a shape (and length). */
  async newRepo(name: string): Promise<RepoRef> {
    const created = await emulator("POST", "/_emulator/repos", { owner: this.owner, name, owner_type: "Organization", auto_init: true });
    if (created.status !== 201) throw new Error(`creating ${this.owner}/${name} in the GitHub emulator: HTTP ${created.status}`);
    return { owner: this.owner, repo: name };
  }

  /**
   * `up-to-date`: the same request again, which must be answered so; `forced`: the same with `force: true`, a no-op `up`;
   * `changed`: a re-onboard with `extra` changing its config, which must run.
   */
  async onboard(
    server: ServerProcess,
    ref: RepoRef,
    expect: "first" | "up-to-date" | "forced" | "changed",
    extra: Record<string, unknown> = {},
  ): Promise<RunTiming> {
    if (expect === "first") this.viaServer.push(ref);
    const run = await onboardOverHttp(server, ref, expect === "forced" ? { ...extra, force: true } : extra);
    if (run.status !== "succeeded") throw new Error(`onboarding ${ref.repo} (run ${run.runId}) ${run.status} at ${run.failure}`);
    const changed = Object.entries(run.changeSummary ?? {}).filter(([op, n]) => op !== "same" && n > 0);
    if (expect === "forced" && changed.length > 0)
      throw new Error(`re-onboarding ${ref.repo} changed ${JSON.stringify(run.changeSummary)}`);
    if (expect === "up-to-date" && run.outcome !== "up-to-date")
      throw new Error(`re-onboarding ${ref.repo} unchanged was ${run.outcome}: ${JSON.stringify(run.record.fingerprint)}`);
    if (expect === "changed" && run.outcome !== "applied") throw new Error(`re-onboarding ${ref.repo} changed was ${run.outcome}`);
    if (expect === "first") this.repoStacks++;
    return run;
  }

  async cliOnboard(ref: RepoRef): Promise<{ configMs: number; up: CliRun }> {
    const { stackName, ms: configMs } = await configureRepoStack(this.env, ref);
    this.viaCli.push(stackName);
    const up = await cliUp(this.env, stackName);
    this.repoStacks++;
    return { configMs, up };
  }

  async platform(tag: string): Promise<PlatformStack> {
    const stack = await createPlatformStack(this.env, `${this.tag}-${tag}`);
    this.platforms.push(stack);
    return stack;
  }
}

const pad = (i: number) => String(i).padStart(2, "0");

/** A run's own time once a worker held it (its queue wait left out), from the server's event timestamps. */
const execution = (run: RunTiming) => (run.selectMs ?? 0) + (run.upMs ?? 0) + (run.postUpMs ?? 0);

async function watched<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; memory: MemoryPeaks }> {
  const watch = watchProcessTree(pid, undefined, { runOnly: true });
  try {
    const result = await work();
    return { result, memory: watch.stop() };
  } catch (err) {
    watch.stop();
    throw err;
  }
}

interface PlatformSample {
  repos: number;
  first?: CliRun;
  noop: CliRun[];
}

async function platformWith(bench: Bench, stack: PlatformStack, first: boolean): Promise<PlatformSample> {
  const repos = bench.repoStacks;
  log(`platform stack ${stack.stackName}: ${first ? "first up, then " : ""}${plan.samples} no-op ups with ${repos} repos onboarded`);
  const sample: PlatformSample = { repos, noop: [] };
  if (first) sample.first = await cliUp(bench.env, stack.stackName, "first");
  for (let i = 0; i < plan.samples; i++) sample.noop.push(await cliUp(bench.env, stack.stackName, "no-op"));
  return sample;
}

interface OverheadSample {
  server: RunTiming;
  serverMemory: MemoryPeaks;
  cli: { configMs: number; up: CliRun };
}

interface NoopSample {
  /** The identical request: up-to-date. */
  server: RunTiming;
  /** The same with force: true. */
  forced: RunTiming;
  cli: CliRun;
}

interface GridCell {
  repos: number;
  concurrency: number;
  wallMs: number;
  runs: RunTiming[];
  memory: MemoryPeaks;
}

async function overhead(bench: Bench, server: ServerProcess): Promise<OverheadSample[]> {
  const samples: OverheadSample[] = [];
  for (let i = 0; i < plan.samples; i++) {
    log(`server vs CLI, sample ${i + 1}/${plan.samples}`);
    const viaServer = await bench.newRepo(`srv-${pad(i)}`);
    const viaCli = await bench.newRepo(`cli-${pad(i)}`);
    const { result, memory } = await watched(server.pid, () => bench.onboard(server, viaServer, "first"));
    samples.push({ server: result, serverMemory: memory, cli: await bench.cliOnboard(viaCli) });
  }
  return samples;
}

async function noops(bench: Bench, server: ServerProcess, firsts: RunTiming[]): Promise<NoopSample[]> {
  const samples: NoopSample[] = [];
  for (let i = 0; i < plan.samples; i++) {
    log(`re-onboard, identical and forced, sample ${i + 1}/${plan.samples}`);
    const ref = { owner: bench.owner, repo: `srv-${pad(i)}` };
    const again = await bench.onboard(server, ref, "up-to-date");
    const forced = await bench.onboard(server, ref, "forced");
    samples.push({ server: again, forced, cli: await cliUp(bench.env, bench.viaCli[i], "no-op") });
    if (i === 0) {
      // The records the fingerprints come with, for the reader: first, identical, forced, then a changed config.
      const changed = await bench.onboard(server, ref, "changed", { displayName: `${ref.repo} renamed` });
      for (const [what, run] of [
        ["first onboarding", firsts[0]],
        ["identical re-onboard", again],
        ["forced", forced],
        ["config changed", changed],
      ] as const)
        log(`run record, ${what}: ${JSON.stringify(run.record)}`);
    }
  }
  return samples;
}

async function gridCell(bench: Bench, server: ServerProcess, concurrency: number, repos: number): Promise<GridCell> {
  log(`${repos} repos at concurrency ${concurrency}`);
  const refs: RepoRef[] = [];
  for (let i = 0; i < repos; i++) refs.push(await bench.newRepo(`g${concurrency}x${pad(repos)}-${pad(i)}`));
  const started = performance.now();
  const { result: runs, memory } = await watched(server.pid, () => Promise.all(refs.map((ref) => bench.onboard(server, ref, "first"))));
  return { repos, concurrency, wallMs: performance.now() - started, runs, memory };
}

interface Results {
  overhead: OverheadSample[];
  noop: NoopSample[];
  grid: GridCell[];
  platformFew: PlatformSample;
  platformMany: PlatformSample;
  platformManyFirst?: CliRun;
}

async function measure(bench: Bench, servers: { current?: ServerProcess }): Promise<Results> {
  const start = async (concurrency: number) => {
    await servers.current?.stop();
    servers.current = undefined;
    servers.current = await startBenchServer(bench.env, concurrency);
    return servers.current;
  };
  let server = await start(plan.concurrencies[0]);

  // Pays the cold start (module compilation, plugin loading) outside every measurement, and is the one repo
  // the platform stack is first measured with.
  log("warm-up onboarding");
  await bench.onboard(server, await bench.newRepo("warm-00"), "first");
  const platform = await bench.platform("a");
  const platformFew = await platformWith(bench, platform, true);

  const overheadSamples = await overhead(bench, server);
  const noopSamples = await noops(
    bench,
    server,
    overheadSamples.map((s) => s.server),
  );

  const grid: GridCell[] = [];
  for (const concurrency of plan.concurrencies) {
    if (concurrency !== plan.concurrencies[0]) server = await start(concurrency);
    for (const repos of plan.repoCounts) grid.push(await gridCell(bench, server, concurrency, repos));
  }

  const platformMany = await platformWith(bench, platform, false);
  let platformManyFirst: CliRun | undefined;
  if (plan.platformFirstWithMany) {
    const second = await bench.platform("b");
    log(`platform stack ${second.stackName}: first up with ${bench.repoStacks} repos onboarded`);
    platformManyFirst = await cliUp(bench.env, second.stackName, "first");
  }
  return { overhead: overheadSamples, noop: noopSamples, grid, platformFew, platformMany, platformManyFirst };
}

const med = (values: (number | undefined)[]) => median(values.filter((v): v is number => v !== undefined));

function report(r: Results): string {
  const srv = r.overhead.map((s) => s.server);
  const serverTotal = med(srv.map((s) => s.totalMs));
  const serverUp = med(srv.map((s) => s.upMs));
  const cliConfig = med(r.overhead.map((s) => s.cli.configMs));
  const cliUpMs = med(r.overhead.map((s) => s.cli.up.ms));
  const cliTotal = med(r.overhead.map((s) => s.cli.configMs + s.cli.up.ms));
  const n = plan.samples;

  const overheadTable = table(
    ["path", "total", "queue", "stack + config", "up", "after up", "Pulumi processes, peak RSS", "server process, peak RSS"],
    [
      [
        "server: POST /v1/onboardings → succeeded",
        ms(serverTotal),
        ms(med(srv.map((s) => s.queuedMs))),
        ms(med(srv.map((s) => s.selectMs))),
        ms(serverUp),
        ms(med(srv.map((s) => s.postUpMs))),
        mib(med(r.overhead.map((s) => s.serverMemory.descendantsBytes))),
        mib(med(r.overhead.map((s) => s.serverMemory.rootBytes))),
      ],
      [
        "CLI: stack + config, then `pulumi up --yes --skip-preview --policy-pack policies`",
        ms(cliTotal),
        "—",
        ms(cliConfig),
        ms(cliUpMs),
        "—",
        mib(med(r.overhead.map((s) => s.cli.up.memory.totalBytes))),
        "—",
      ],
      [
        "**server / CLI**",
        `**${ratio(serverTotal, cliTotal)}**`,
        "",
        ratio(med(srv.map((s) => s.selectMs)), cliConfig),
        ratio(serverUp, cliUpMs),
        "",
        "",
        "",
      ],
    ],
  );

  const noopServer = r.noop.map((s) => s.server);
  const forcedServer = r.noop.map((s) => s.forced);
  const noopTable = table(
    ["measure", "first onboarding", "re-onboard", "re-onboard / first"],
    [
      [
        "**server total, identical request: up-to-date** (POST → succeeded)",
        ms(serverTotal),
        ms(med(noopServer.map((s) => s.totalMs))),
        `**${ratio(med(noopServer.map((s) => s.totalMs)), serverTotal)}**`,
      ],
      [
        "server total, the same with `force: true` (a no-op `up`)",
        ms(serverTotal),
        ms(med(forcedServer.map((s) => s.totalMs))),
        ratio(med(forcedServer.map((s) => s.totalMs)), serverTotal),
      ],
      [
        "server `up` step, forced",
        ms(serverUp),
        ms(med(forcedServer.map((s) => s.upMs))),
        ratio(med(forcedServer.map((s) => s.upMs)), serverUp),
      ],
      ["CLI `pulumi up`", ms(cliUpMs), ms(med(r.noop.map((s) => s.cli.ms))), ratio(med(r.noop.map((s) => s.cli.ms)), cliUpMs)],
    ],
  );

  const gridTable = table(
    [
      "repos",
      "concurrency",
      "wall",
      "wall / repo",
      "run, claimed → succeeded (median)",
      "`up` step (median)",
      "server process, peak RSS",
      "Pulumi processes, peak RSS (sum)",
    ],
    r.grid.map((c) => [
      c.repos,
      c.concurrency,
      ms(c.wallMs),
      ms(c.wallMs / c.repos),
      ms(med(c.runs.map(execution))),
      ms(med(c.runs.map((run) => run.upMs))),
      mib(c.memory.rootBytes),
      mib(c.memory.descendantsBytes),
    ]),
  );

  const few = r.platformFew;
  const many = r.platformMany;
  const fewNoop = med(few.noop.map((s) => s.ms));
  const manyNoop = med(many.noop.map((s) => s.ms));
  const platformRows: (string | number)[][] = [
    [`no-op \`up\` (median of ${n})`, ms(fewNoop), ms(manyNoop), `**${ratio(manyNoop, fewNoop)}**`],
    [
      `no-op \`up\`, Pulumi processes peak RSS (median of ${n})`,
      mib(med(few.noop.map((s) => s.memory.totalBytes))),
      mib(med(many.noop.map((s) => s.memory.totalBytes))),
      "",
    ],
  ];
  if (few.first && r.platformManyFirst) {
    platformRows.unshift([
      "first `up` (1 run each, a new stack and namespace)",
      ms(few.first.ms),
      ms(r.platformManyFirst.ms),
      ratio(r.platformManyFirst.ms, few.first.ms),
    ]);
  } else if (few.first) {
    platformRows.unshift(["first `up` (1 run, a new stack and namespace)", ms(few.first.ms), "not measured (--quick)", ""]);
  }
  const platformTable = table(
    [
      "platform stack",
      `${few.repos} repo${few.repos === 1 ? "" : "s"} onboarded`,
      `${many.repos} repos onboarded`,
      `${many.repos} / ${few.repos}`,
    ],
    platformRows,
  );

  return `
Real server process (testkit/server-process.ts) on a fresh database of the sandbox's PostgreSQL that it
migrates itself, a temporary file state backend, the bootstrapped \`pulumi\` CLI and the project's own program
against the sandbox (kube-apiserver + kwok, Vault, the GitHub emulator). Every onboarding is the first \`up\` of a
new repo (owner \`bench-<random>\`); the server's runs skip the OAuth device flow (\`skipAuth\`), and its scheduled
drift checks are off (\`MESH_SIX_DRIFT_CHECK_INTERVAL_MS=0\`: they would share the run slots with what is measured). Every \`up\`, the
server's and the CLI's, runs under the project's policy pack, as the server and the deploy workflow do. One warm-up
onboarding precedes all measurements. Peak RSS is sampled from /proc every 250 ms ("Pulumi processes": the
pulumi CLI, language host, node program, kubernetes plugin and dynamic providers, summed at each sample).
${quick ? "\n**--quick run**: 2 samples, repos 1 and 5, concurrency 1 and 2, no first-`up` comparison of the platform stack.\n" : ""}
### The server's overhead: one first onboarding, server vs CLI

Median of ${n} samples each, alternated (server, CLI, server, CLI…), the server at run concurrency ${plan.concurrencies[0]}. The
server's phases come from the run's own event timestamps: queue (accepted → claimed), stack + config (select or
create the stack, write its config: the CLI does the same through the Automation API before its timed \`up\`),
\`up\` (outputs included), after up (the environment pod's readiness check, then the final status). Peak RSS:
median over the samples of each sample's peak.

${overheadTable}

### No-op re-onboard vs first onboarding

The same ${n} server repos onboarded again (runs of kind \`update\`): first with the same request, checked to be
answered \`up-to-date\` from its fingerprint without starting Pulumi, then with \`force: true\`, a no-op \`up\` (checked to
change nothing); and the CLI's repos \`up\` again with \`--expect-no-changes\`; medians of ${n}, the "first" column
being the medians above.

${noopTable}

### Many repos at once

Each cell is one batch of new repos, all POSTed at once to a server started with \`MESH_SIX_RUN_CONCURRENCY\` =
concurrency, measured once: wall = first POST → last run succeeded; wall / repo = wall ÷ repos; the per-run
figures are medians over the cell's repos (claimed → succeeded leaves out the queue wait); peaks are the
highest sample during the cell.

${gridTable}

### Platform stack \`up\` vs the number of repos onboarded

\`pulumi up\` of a platform stack of its own (\`platform-bench-<random>\`, dev images, its own namespace) in the same
backend and cluster, first with ${few.repos} repo stack up, then after the rest of this benchmark with ${many.repos}. A steady
platform update is the no-op \`up\` (\`--expect-no-changes\`); the first \`up\` creates every resource.

${platformTable}
`;
}

/**
 * Destroys every stack this run created, from the CLI, a few at a time. (Offboarding through the server is the
 * user's way; here it would add the queue's bookkeeping to a clean-up that only has to leave nothing behind.)
 */
async function cleanUp(bench: Bench): Promise<string[]> {
  const stacks = [...bench.viaServer.map((ref) => stackNameFor(ref)), ...bench.viaCli, ...bench.platforms.map((p) => p.stackName)];
  log(`clean-up: destroying ${stacks.length} stacks, ${CLEANUP_PARALLEL} at a time`);
  const problems: string[] = [];
  const pending = [...stacks];
  const worker = async () => {
    for (let stackName = pending.shift(); stackName !== undefined; stackName = pending.shift()) {
      await cliDestroy(bench.env, stackName).catch((err: Error) => problems.push(`destroying ${stackName}: ${err.message}`));
    }
  };
  await Promise.all(Array.from({ length: CLEANUP_PARALLEL }, worker));
  return problems;
}

async function main(): Promise<number> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl || !process.env.GITHUB_API_URL || !process.env.KUBECONFIG) {
    throw new Error("the sandbox's settings are not in the environment: run bench/run onboarding");
  }
  const began = performance.now();
  const stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-bench-onboarding-"));
  const db = await createEmptyDatabase(adminUrl, "bench_onboarding");
  const bench = new Bench({
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("base64url"),
    DATABASE_URL: db.url,
  });
  const servers: { current?: ServerProcess } = {};
  log(`${quick ? "quick" : "full"} run: owner ${bench.owner}, state in ${stateDir}`);
  let results: Results | undefined;
  let failure: Error | undefined;
  try {
    results = await measure(bench, servers);
  } catch (err) {
    failure = err as Error;
    if (servers.current) console.error(`[onboarding] the server's last lines:\n${servers.current.logs.slice(-30).join("\n")}`);
  }
  await servers.current?.stop();
  const measured = performance.now();
  const problems = await cleanUp(bench);
  await db.drop().catch((err: Error) => problems.push(`dropping the database: ${err.message}`));
  await rm(stateDir, { recursive: true, force: true });
  for (const p of problems) console.error(`[onboarding] clean-up: ${p}`);
  if (failure || !results) throw failure ?? new Error("no results");

  const body = `${report(results)}\nMeasuring took ${ms(measured - began)}, the clean-up ${ms(performance.now() - measured)}.`;
  console.log(body);
  writeSection("onboarding", "Onboarding", `bench/run${quick ? " --quick" : ""} onboarding`, body);
  log(`docs/BENCHMARKS.md updated${problems.length > 0 ? `; the clean-up left ${problems.length} problems (above)` : ""}`);
  return problems.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`[onboarding] ${err.message}`);
    process.exit(1);
  },
);
