// First, before anything loads @pulumi/pulumi (the Automation API): its TypeScript and arborist wait for their first use,
// as in the run's processes (pulumi/sdk-lazy-requires.cjs). The server never uses either.
import "../pulumi/sdk-lazy-requires.cjs";
import path from "node:path";
import { Pool } from "pg";
import { assertProgramBuilt } from "../pulumi/program-build";
import { checkPulumiCli } from "../pulumi/pulumi-command";
import { createRunFingerprinter } from "../pulumi/run-fingerprint";
import { PulumiStackRunner } from "../pulumi/runner";
import { githubRepoValidator } from "../runs/validate";
import { backendCheckUrl, redactBackendUrl } from "../pulumi/state-backend";
import { prepareStateBackend } from "../pulumi/state-store";
import { PROJECT_DIR, workspaceSettings } from "../pulumi/workspace";
import { createApp } from "./app";
import { ConfigError, configSecrets, loadServerConfig, urlPasswords } from "./config";
import { createLogger, type Logger, logLevelFrom } from "../lib/logger";
import { createMetrics } from "./metrics";
import { createWorkers } from "./workers";
import { type EmbeddedDatabase, startEmbeddedDatabase } from "../db/embedded";
import { migrate } from "../db/migrate";
import { UnpreparedClient } from "../db/prepared";
import { DatabaseStackSettings } from "../db/stack-settings";
import { listenForWakeups, type Wakeups } from "../db/wakeups";

/**
 * The server process: config from the environment, the database (DATABASE_URL, or an embedded PGlite
 * served on loopback so that Pulumi's dynamic providers, separate processes, reach it through a
 * DATABASE_URL too), migrations, the run queue, then HTTP.
 */
async function main(): Promise<void> {
  const level = logLevelFrom(process.env);
  // Every run starts the program and the policy pack from dist/: refused here, not at a run, when it is stale.
  assertProgramBuilt();
  // Decided from the environment as given: the embedded database's URL, set below, is no shared state backend.
  const settings = workspaceSettings(process.env, { scratchDir: process.env.MESH_SIX_SCRATCH_DIR });
  const config = loadServerConfig(process.env, backendCheckUrl(settings.backend));
  const env = { ...settings.backend.envVars, ...settings.secrets.envVars };
  const secrets = [...configSecrets(config), ...urlPasswords(process.env.DATABASE_URL)];
  for (const name of ["PGPASSWORD", "PULUMI_CONFIG_PASSPHRASE", "VAULT_TOKEN"]) if (env[name]) secrets.push(env[name]);
  const log = (root = createLogger({ level, secrets }));
  log.info(
    `state: ${redactBackendUrl(settings.backendUrl)} (from ${settings.backend.source}); ` +
      `secrets: ${settings.secrets.provider ?? "passphrase"} (from ${settings.secrets.source}); workspace: ${settings.workDir}`,
  );
  // The one `pulumi version` of this process, held to the SDK's pin; no run asks it again.
  const cli = await checkPulumiCli(settings.pulumiRoot);
  log.info(`pulumi CLI ${cli.version} (${cli.command})`);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = process.env.MESH_SIX_DATA_DIR ?? path.join(PROJECT_DIR, ".data");
    embedded = await startEmbeddedDatabase({ dataDir: path.join(dataDir, "pglite") });
    databaseUrl = embedded.url;
    // In the environment of every Pulumi run (never in its config or state), so that the registry row lands in
    // this same database; a given DATABASE_URL reaches the runs as the rest of this process's environment does.
    settings.envVars = { ...settings.envVars, DATABASE_URL: databaseUrl };
    log.info(`embedded PostgreSQL (PGlite) in ${dataDir} on ${new URL(databaseUrl).host}`);
  }
  const pool = new Pool({ connectionString: databaseUrl, max: 10, ...(embedded ? { Client: UnpreparedClient } : {}) });
  pool.on("error", (err) => log.error(`database: ${err.message}`));
  // The pool only listens for errors of idle clients: a connection dropped while a client is checked out
  // (between two statements of a transaction) would otherwise be an unhandled 'error' that kills the process.
  // The statement in flight fails, and the pool discards the broken client when it is released.
  pool.on("connect", (client) => client.on("error", (err) => log.error(`database connection lost: ${err.message}`)));
  const applied = await migrate(pool);
  if (applied.length > 0) log.info(`migrations applied: ${applied.join(", ")}`);
  // Before the queue starts a run: no two replicas' first CLI runs may both create the backend's table.
  await prepareStateBackend(backendCheckUrl(settings.backend));

  settings.stackSettings = new DatabaseStackSettings(pool);
  const metrics = createMetrics(pool);
  const workers = createWorkers({
    db: pool,
    runner: new PulumiStackRunner({ settings, log: log.child({ component: "runner" }) }),
    config,
    metrics,
    log,
    validate: githubRepoValidator(process.env, (line) => log.child({ component: "github" }).warn(line)),
    // Once, now that the runs' environment is complete: the program build, the toolchain and the inputs do not change while the process runs.
    fingerprinter: await createRunFingerprinter(settings),
  });
  const app = createApp({ db: pool, config, metrics, workers, log });
  await app.queue.start();
  // Tasks left delivering by a process that died are claimed again once their lease lapsed.
  app.dispatcher.start();
  app.drift.start();
  app.boards?.start();
  app.notifier.start();
  // Other replicas' new runs and tasks wake this one at once; the embedded database has no other replicas.
  let wakeups: Wakeups | undefined;
  if (!embedded) {
    wakeups = listenForWakeups(
      databaseUrl,
      {
        mesh_six_runs: () => app.queue.kick(),
        mesh_six_tasks: () => app.dispatcher.kick(),
        mesh_six_board_writes: () => app.boards?.kick(),
        mesh_six_notifications: () => app.notifier.kick(),
        mesh_six_registry: (repo) => workers.repoRules.changed(repo),
      },
      log.child({ component: "wakeups" }),
      // Registry rows are kept in memory only while every change to them is heard.
      { up: () => workers.repoRules.listening(), down: () => workers.repoRules.deaf() },
    );
  }
  // Deliveries left for a sweep, or acknowledged by a process that died before processing them.
  app.webhooks.start();
  const server = app.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    log.info(`mesh-six onboarding server listening on :${port} (worker ${app.queue.workerId})`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping (running runs get a grace period, then go back to the queue)`);
    // The queue hands its runs back within the grace; whatever else hangs (a database that no longer answers)
    // must not keep the process past it.
    const bound = Math.max(config.runShutdownGraceMs, config.drainDelayMs ?? 0) + TEARDOWN_MS;
    setTimeout(() => {
      log.error(`${signal}: shutdown not finished ${bound} ms after it began; exiting`);
      process.exit(1);
    }, bound).unref();
    app.drain();
    // The runs' grace starts now; requests are still answered until endpoints have dropped this not-ready pod.
    await wakeups?.stop();
    const stopped = Promise.all([app.queue.stop(), app.dispatcher.stop(), app.drift.stop(), app.boards?.stop(), app.notifier.stop()]);
    if (config.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
    server.close();
    server.closeIdleConnections();
    await stopped;
    app.webhooks.stop();
    await app.webhooks.idle();
    server.closeAllConnections();
    await pool.end();
    await embedded?.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** After the runs' grace, what the rest of the shutdown (listener, dispatcher, database) may take. */
const TEARDOWN_MS = 3000;

/** Once the configuration is read; before that, errors go to a logger that knows no secrets yet. */
let root: Logger | undefined;

main().catch((err: Error) => {
  (root ?? createLogger()).fatal(err instanceof ConfigError ? `configuration: ${err.message}` : `startup failed: ${err.message}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
