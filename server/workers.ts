import type { Pool } from "pg";
import { Dispatcher } from "../dispatch/dispatcher";
import type { RunFingerprinter } from "../pulumi/run-fingerprint";
import type { StackRunner } from "../pulumi/runner";
import { DriftScheduler, recordDriftCheck } from "../runs/drift";
import { RunQueue } from "../runs/queue";
import type { RepoValidator } from "../runs/validate";
import { DEFAULT_DRIFT_CHECK_INTERVAL_MS, DEFAULT_POD_READY_TIMEOUT_MS, type ServerConfig } from "./config";
import type { ServerMetrics } from "./metrics";
import { GitHubBoardClient } from "../clients/github-board";
import { BoardWriter } from "../dispatch/board-writer";
import { WebhookProcessor } from "./webhooks/processor";
import { vaultKvReader } from "./webhooks/vault-kv";
import { Notifier } from "../notify/notifier";
import { subscriptionSecretPath } from "../domain/notifications";
import { RepoRulesCache } from "./webhooks/registry-cache";
import { defaultLogger, type Logger } from "../lib/logger";

/** The server's background work, built from its config: the HTTP app is handed these, the process starts and stops them. */
export interface Workers {
  /** The run queue the onboarding routes feed. */
  queue: RunQueue;
  /** Delivers tasks to agents. */
  dispatcher: Dispatcher;
  /** Queues every onboarded repo's periodic drift check. */
  drift: DriftScheduler;
  /** Processes webhook deliveries after they were acknowledged; `idle()` waits for those under way. */
  webhooks: WebhookProcessor;
  /** The registry rows webhook deliveries are checked against (trusted while the process hears their changes). */
  repoRules: RepoRulesCache;
  /** Writes the repos' boards from the outbox, when GitHub is configured. */
  boards?: BoardWriter;
  /** Delivers notifications from their outbox to the subscribed webhooks and ntfy topics. */
  notifier: Notifier;
}

export interface WorkerDeps {
  db: Pool;
  runner: StackRunner;
  config: ServerConfig;
  /** Finished runs and processed deliveries are counted here. */
  metrics: ServerMetrics;
  /** The process's root logger; each worker logs through a child naming it (`component`). */
  log?: Logger;
  /** The `validate` step of onboardings and updates (runs/validate.ts); the server tests' scripted runs go without. */
  validate?: RepoValidator;
  /** Fingerprints onboards and updates so that an unchanged one is answered up-to-date (runs/up-to-date.ts); without it all run. */
  fingerprinter?: RunFingerprinter;
}

export function createWorkers(deps: WorkerDeps): Workers {
  const log = deps.log ?? defaultLogger();
  const part = (component: string) => log.child({ component });
  const { config, metrics } = deps;
  const queue = new RunQueue({
    pool: deps.db,
    runner: deps.runner,
    concurrency: config.runConcurrency,
    leaseMs: config.runLeaseMs,
    pollMs: config.pollMs,
    shutdownGraceMs: config.runShutdownGraceMs,
    validate: deps.validate,
    // An up-to-date answer repeats an observation of the world no older than the drift checks keep it (6 h when they are off).
    upToDate: deps.fingerprinter && {
      fingerprinter: deps.fingerprinter,
      maxObservationAgeMs: config.driftCheckIntervalMs || DEFAULT_DRIFT_CHECK_INTERVAL_MS,
    },
    postUp: {
      podReadyTimeoutMs: config.podReadyTimeoutMs ?? DEFAULT_POD_READY_TIMEOUT_MS,
      deviceFlow: config.deviceFlow,
      authServiceUrl: config.authServiceUrl,
      deviceFlowSecondMs: config.deviceFlowSecondMs,
    },
    onFinished: (run) => {
      metrics.runFinished(run);
      recordDriftCheck(deps.db, run).catch((err: Error) =>
        part("drift").child({ runId: run.id }).error(`recording the check: ${err.message}`),
      );
    },
    log: part("queue"),
  });
  const drift = new DriftScheduler({
    pool: deps.db,
    intervalMs: config.driftCheckIntervalMs ?? 0,
    queued: () => queue.kick(),
    log: part("drift"),
  });
  const dispatcher = new Dispatcher({
    pool: deps.db,
    agentStaleMs: config.agentStaleMs,
    leaseMs: config.taskLeaseMs,
    pollMs: config.pollMs,
    retryBaseMs: config.taskRetryBaseMs,
    retryMaxMs: config.taskRetryMaxMs,
    concurrency: config.dispatchConcurrency,
    log: part("dispatch"),
  });
  const boardClient = config.boards ? new GitHubBoardClient(config.boards) : undefined;
  const boards =
    boardClient &&
    new BoardWriter({
      pool: deps.db,
      api: boardClient,
      pollMs: config.pollMs,
      retryBaseMs: config.boards?.retryBaseMs,
      retryMaxMs: config.boards?.retryMaxMs,
      log: part("boards"),
    });
  const repoRules = new RepoRulesCache(deps.db);
  const webhooks = new WebhookProcessor(
    deps.db,
    metrics,
    part("webhooks"),
    {
      serverLogin: boardClient ? () => boardClient.viewerLogin() : undefined,
      moved: (result) => {
        boards?.kick();
        if (result.redeliver) dispatcher.kick();
      },
    },
    { rules: repoRules },
  );
  const vault = config.webhooks;
  const readSecret = vault && vaultKvReader({ addr: vault.vaultAddr, token: vault.vaultToken, mount: vault.vaultMount });
  const notifier = new Notifier({
    pool: deps.db,
    publicUrl: config.publicUrl,
    secretOf: readSecret && (async (id) => (await readSecret(subscriptionSecretPath(id)))?.secret),
    timeoutMs: config.notifyTimeoutMs,
    retryBaseMs: config.notifyRetryBaseMs,
    retryMaxMs: config.notifyRetryMaxMs,
    concurrency: config.notifyConcurrency,
    pollMs: config.pollMs,
    log: part("notify"),
  });
  return { queue, dispatcher, drift, webhooks, repoRules, boards, notifier };
}
