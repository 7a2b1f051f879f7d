/**
 * Where one run's time and memory go (docs/BENCHMARKS.md, section "timeline"): a first onboarding and a no-op
 * re-onboard through the real server process, and a first and a no-op `pulumi up` of the same kind of stack from the
 * CLI, each printed as a timeline from the run's own events and from process accounting (every CLI launch, through
 * the launch recorder's tools directory; every process the CLI starts, with its peak RSS, sampled every 250 ms).
 * The same runs give the three ratios the timeline explains: server onboarding / CLI up, no-op / first, peak RSS.
 *   node --import tsx bench/timeline.ts [--quick]   (through bench/run timeline, which sets up the sandbox's env)
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { RepoRef } from "../domain/names";
import { stackNameFor } from "../domain/names";
import { emulator } from "../testkit/github-emulator";
import type { ServerProcess } from "../testkit/server-process";
import { machine, median, mib, ms, ratio, table, writeSection } from "../testkit/report";
import { recordLaunches } from "./lib/cli-launches";
import { type CliRun, cliDestroy, cliUp, configureRepoStack } from "./lib/onboarding-cli";
import { type PulumiEnv, type RunTiming, createEmptyDatabase, onboardOverHttp, startBenchServer } from "./lib/onboarding-server";
import { type MemoryPeaks, type SeenProcess, watchProcessTree } from "./lib/process-memory";
import { peaksByRole, renderTimeline, timeline } from "./lib/run-timeline";

const quick = process.argv.includes("--quick");
const SAMPLES = quick ? 1 : 3;
const INTERVAL_MS = 250;
/** Where the measured memory figures go for the platform stack to size the server by. */
const RUN_MEMORY_FILE = path.resolve(__dirname, "../stacks/run-memory.json");
const log = (message: string) => console.log(`[timeline] ${message}`);

interface ServerSample {
  run: RunTiming;
  memory: MemoryPeaks;
  processes: SeenProcess[];
}

interface CliSample {
  configMs: number;
  up: CliRun;
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl || !process.env.GITHUB_API_URL || !process.env.KUBECONFIG) {
    throw new Error("the sandbox's settings are not in the environment: run bench/run timeline");
  }
  const began = performance.now();
  const recorder = recordLaunches(process.env.MESH_SIX_TOOLS ?? path.resolve(__dirname, "../.tools"));
  // The server finds the CLI through MESH_SIX_TOOLS, the CLI baseline through PATH: both through the recorder.
  process.env.MESH_SIX_TOOLS = recorder.toolsDir;
  process.env.PATH = `${recorder.toolsDir}/bin${path.delimiter}${process.env.PATH ?? ""}`;
  const stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-bench-timeline-"));
  const db = await createEmptyDatabase(adminUrl, "bench_timeline");
  const env: PulumiEnv = {
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("base64url"),
    DATABASE_URL: db.url,
  };
  const tag = randomBytes(3).toString("hex");
  const owner = `bench-${tag}`;
  const serverRepos: RepoRef[] = [];
  const cliStacks: string[] = [];
  const newRepo = async (name: string): Promise<RepoRef> => {
    const created = await emulator("POST", "/_emulator/repos", { owner, name, owner_type: "Organization", auto_init: true });
    if (created.status !== 201) throw new Error(`creating ${owner}/${name} in the GitHub emulator: HTTP ${created.status}`);
    return { owner, repo: name };
  };
  let server: ServerProcess | undefined;
  try {
    server = await startBenchServer(env, 1);
    const s = server;
    const onboard = async (ref: RepoRef, expect: "first" | "no-op"): Promise<ServerSample> => {
      const watch = watchProcessTree(s.pid, INTERVAL_MS, { runOnly: true });
      const run = await onboardOverHttp(s, ref);
      const memory = watch.stop();
      if (run.status !== "succeeded") throw new Error(`onboarding ${ref.repo} (run ${run.runId}) ${run.status} at ${run.failure}`);
      const changed = Object.entries(run.changeSummary ?? {}).filter(([op, n]) => op !== "same" && n > 0);
      if (expect === "no-op" && changed.length > 0)
        throw new Error(`re-onboarding ${ref.repo} changed ${JSON.stringify(run.changeSummary)}`);
      return { run, memory, processes: watch.processes() };
    };
    log("warm-up onboarding (not measured)");
    const warm = await newRepo("warm");
    serverRepos.push(warm);
    await onboard(warm, "first");

    const first: ServerSample[] = [];
    const cliFirst: CliSample[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      log(`first onboarding and first CLI up, sample ${i + 1}/${SAMPLES}`);
      const ref = await newRepo(`srv-${i}`);
      serverRepos.push(ref);
      first.push(await onboard(ref, "first"));
      const cliRef = await newRepo(`cli-${i}`);
      const configured = await configureRepoStack(env, cliRef);
      cliStacks.push(configured.stackName);
      cliFirst.push({ configMs: configured.ms, up: await cliUp(env, configured.stackName, "first") });
    }
    const noop: ServerSample[] = [];
    const cliNoop: CliRun[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      log(`no-op re-onboard and no-op CLI up, sample ${i + 1}/${SAMPLES}`);
      noop.push(await onboard(serverRepos[i + 1], "no-op"));
      cliNoop.push(await cliUp(env, cliStacks[i], "no-op"));
    }
    await server.stop();
    server = undefined;
    const body = report(recorder.launches.bind(recorder), { first, noop, cliFirst, cliNoop });
    console.log(body);
    writeRunMemory([...first, ...noop]);
    writeSection(
      "timeline",
      "A run's timeline",
      `bench/run${quick ? " --quick" : ""} timeline`,
      `${body}\n\nMeasuring took ${ms(performance.now() - began)}.`,
    );
    log("docs/BENCHMARKS.md updated");
  } finally {
    if (server) {
      console.error(`[timeline] the server's last lines:\n${server.logs.slice(-30).join("\n")}`);
      await server.stop();
    }
    log(`clean-up: destroying ${serverRepos.length + cliStacks.length} stacks`);
    for (const stack of [...serverRepos.map((r) => stackNameFor(r)), ...cliStacks]) {
      await cliDestroy(env, stack).catch((err: Error) => console.error(`[timeline] destroying ${stack}: ${err.message}`));
    }
    await db.drop().catch((err: Error) => console.error(`[timeline] dropping the database: ${err.message}`));
    await rm(stateDir, { recursive: true, force: true });
    recorder.remove();
  }
}

/**
 * The figures the platform stack sizes the server by (stacks/platform-config.ts): the highest the server process and
 * one run's Pulumi processes (summed at one sample) reached in any of these runs.
 */
function writeRunMemory(samples: ServerSample[]): void {
  const peak = (f: (s: ServerSample) => number) => Math.ceil(Math.max(...samples.map(f)) / 2 ** 20);
  const figures = {
    source: `bench/run timeline, ${new Date().toISOString().slice(0, 16)}Z, ${machine()}`,
    runs: samples.length,
    serverPeakMiB: peak((s) => s.memory.rootBytes),
    runPeakMiB: peak((s) => s.memory.descendantsBytes),
  };
  writeFileSync(RUN_MEMORY_FILE, `${JSON.stringify(figures, null, 2)}\n`);
  log(`${path.relative(process.cwd(), RUN_MEMORY_FILE)}: server ${figures.serverPeakMiB} MiB, run ${figures.runPeakMiB} MiB`);
}

interface Samples {
  first: ServerSample[];
  noop: ServerSample[];
  cliFirst: CliSample[];
  cliNoop: CliRun[];
}

type Launches = ReturnType<typeof recordLaunches>["launches"];

function serverTimeline(launches: Launches, s: ServerSample): string {
  const startMs = s.run.postedAtMs;
  const endMs = startMs + s.run.totalMs;
  const lines = timeline({
    startMs,
    endMs,
    launches: launches(startMs - INTERVAL_MS),
    processes: s.processes,
    events: s.run.events,
    intervalMs: INTERVAL_MS,
  });
  return renderTimeline(lines);
}

function cliTimeline(launches: Launches, run: CliRun): string {
  const startMs = run.startedAtMs;
  const lines = timeline({
    startMs,
    endMs: startMs + run.ms,
    launches: launches(startMs - INTERVAL_MS),
    processes: run.processes,
    intervalMs: INTERVAL_MS,
  });
  return renderTimeline(lines);
}

function launchCount(launches: Launches, s: ServerSample): number {
  return launches(s.run.postedAtMs).filter((l) => l.startMs <= s.run.postedAtMs + s.run.totalMs).length;
}

function roleTable(samples: { label: string; processes: SeenProcess[] }[]): string {
  const roles = [...new Set(samples.flatMap((s) => peaksByRole(s.processes).map((r) => r.role)))];
  return table(
    ["process", ...samples.map((s) => s.label)],
    roles.map((role) => [
      role,
      ...samples.map((s) => {
        const r = peaksByRole(s.processes).find((x) => x.role === role);
        return r ? `${mib(r.peakRssBytes)} (${mib(r.peakAnonBytes)})${r.count > 1 ? ` ×${r.count}` : ""}` : "—";
      }),
    ]),
  );
}

function report(launches: Launches, r: Samples): string {
  const med = (values: number[]) => median(values);
  const serverFirst = med(r.first.map((s) => s.run.totalMs));
  const serverNoop = med(r.noop.map((s) => s.run.totalMs));
  const cliFirstTotal = med(r.cliFirst.map((s) => s.configMs + s.up.ms));
  const cliFirstUp = med(r.cliFirst.map((s) => s.up.ms));
  const cliNoopUp = med(r.cliNoop.map((s) => s.ms));
  const serverPeak = (xs: ServerSample[]) => med(xs.map((s) => s.memory.descendantsBytes));
  const cliPeak = (xs: CliRun[]) => med(xs.map((s) => s.memory.totalBytes));
  const serverOnce = (xs: ServerSample[]) => med(xs.map((s) => s.memory.descendantsSharedOnceBytes));
  const cliOnce = (xs: CliRun[]) => med(xs.map((s) => s.memory.totalSharedOnceBytes));
  const serverAnon = (xs: ServerSample[]) => med(xs.map((s) => s.memory.descendantsAnonBytes));
  const cliAnon = (xs: CliRun[]) => med(xs.map((s) => s.memory.totalAnonBytes));
  const ratios = table(
    ["measure", "value", "baseline", "ratio", "goal (issue 18)"],
    [
      [
        "server onboarding / CLI up (first, config included)",
        ms(serverFirst),
        ms(cliFirstTotal),
        `**${ratio(serverFirst, cliFirstTotal)}**`,
        "≤ 1.05×",
      ],
      ["no-op re-onboard / first onboarding (server)", ms(serverNoop), ms(serverFirst), `**${ratio(serverNoop, serverFirst)}**`, "≤ 0.2×"],
      ["no-op up / first up (CLI)", ms(cliNoopUp), ms(cliFirstUp), `**${ratio(cliNoopUp, cliFirstUp)}**`, "≤ 0.4×"],
      [
        "peak RSS per run (Pulumi processes, summed at one sample): server first / no-op, CLI first / no-op",
        `${mib(serverPeak(r.first))} / ${mib(serverPeak(r.noop))}`,
        `${mib(cliPeak(r.cliFirst.map((s) => s.up)))} / ${mib(cliPeak(r.cliNoop))}`,
        "",
        "≤ 500 MiB",
      ],
      [
        "the same with each binary's file-backed pages counted once (what a cgroup of this run alone is charged)",
        `${mib(serverOnce(r.first))} / ${mib(serverOnce(r.noop))}`,
        `${mib(cliOnce(r.cliFirst.map((s) => s.up)))} / ${mib(cliOnce(r.cliNoop))}`,
        "",
        "",
      ],
      [
        "its anonymous part only (heaps and stacks: what each further run at once adds)",
        `${mib(serverAnon(r.first))} / ${mib(serverAnon(r.noop))}`,
        `${mib(cliAnon(r.cliFirst.map((s) => s.up)))} / ${mib(cliAnon(r.cliNoop))}`,
        "",
        "",
      ],
      [
        "CLI launches per run: server first / no-op",
        `${med(r.first.map((s) => launchCount(launches, s)))} / ${med(r.noop.map((s) => launchCount(launches, s)))}`,
        "",
        "",
        "",
      ],
    ],
  );
  return `
Real server process (testkit/server-process.ts, run concurrency 1) on a fresh database of the sandbox's PostgreSQL, a
temporary file state backend, the bootstrapped \`pulumi\` CLI and the project's program and policy pack against the
sandbox, as in the onboarding section. The CLI is reached through a recording wrapper (bench/lib/cli-launches.ts: the
server through \`MESH_SIX_TOOLS\`, the CLI baseline through \`PATH\`) that logs each launch's command words, start and
end; every process below the server (or the CLI) is sampled from /proc every ${INTERVAL_MS} ms for its start (exact),
its end (within one interval) and its peak RSS (VmRSS) with its anonymous part (RssAnon). The rest of RSS is
file-backed: the binaries' text and data and the files they map, the same page-cache pages in every process of one
binary (the three node processes share node's): "counted once" sums, at one sample, the anonymous memory and, per
binary, the largest file-backed part among its processes. Steps, resource operations and the status come from the
run's own events. One warm-up onboarding first; then ${SAMPLES} sample${SAMPLES > 1 ? "s" : ""} of each (server first, CLI first, …, then the no-ops),
medians below; the timelines are those of the first sample.

${ratios}

### Peak RSS by process, its anonymous part in parentheses (first sample)

${roleTable([
  { label: "server, first onboarding", processes: r.first[0].processes },
  { label: "server, no-op re-onboard", processes: r.noop[0].processes },
  { label: "CLI, first up", processes: r.cliFirst[0].up.processes },
  { label: "CLI, no-op up", processes: r.cliNoop[0].processes },
])}

### Server: first onboarding (POST → succeeded: ${ms(r.first[0].run.totalMs)})

${serverTimeline(launches, r.first[0])}

### Server: no-op re-onboard (POST → succeeded: ${ms(r.noop[0].run.totalMs)})

${serverTimeline(launches, r.noop[0])}

### CLI: first \`pulumi up --policy-pack policies\` (${ms(r.cliFirst[0].up.ms)}, after ${ms(r.cliFirst[0].configMs)} of stack + config)

${cliTimeline(launches, r.cliFirst[0].up)}

### CLI: no-op \`pulumi up --expect-no-changes\` (${ms(r.cliNoop[0].ms)})

${cliTimeline(launches, r.cliNoop[0])}
`;
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`[timeline] ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
