import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Pool } from "pg";
import { PulumiStackRunner } from "../pulumi/runner";
import { textLogger } from "../lib/logger";
import { lastAppliedRequest } from "../runs/run-store";
import { PROJECT_DIR, type WorkspaceSettings, workspaceSettings } from "../pulumi/workspace";
import { redactOutputs, type RunKind, type RunRecord, type RunRequest, RunStepError } from "../domain/runs";
import { InvalidRepoNameError, parseRepoRef, stackNameFor } from "../domain/names";
import { ConfigError } from "../server/config";
import { migrate } from "../db/migrate";
import { DatabaseStackSettings } from "../db/stack-settings";
import { RequestValidationError } from "../server/errors";
import { buildOnboardingRequest, loadOnboardingDefaults, type OnboardingDefaults } from "../server/onboarding-request";
import { progressLine } from "./progress";
import { mergeSettings } from "../lib/merge-settings";
import { githubRepoValidator, VALIDATE_STEP, validatesFirst } from "../runs/validate";

/**
 * `npm run onboard -- <owner>/<repo> [--display-name X] [--preview|--refresh|--destroy]`: the server's
 * runner without the server (no queue, no database of runs). Progress goes to stderr, the result (outputs
 * redacted) to stdout as JSON. Exit 2: bad input; 1: the run failed.
 */

const USAGE = "usage: npm run onboard -- <owner>/<repo> [--display-name NAME] [--default-branch BRANCH] [--preview|--refresh|--destroy]";

class UsageError extends Error {}

/** The mode and the request's body, as a client would POST it to /v1/onboardings. */
function parse(argv: string[]): { kind: RunKind; body: Record<string, unknown> } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "display-name": { type: "string" },
        "default-branch": { type: "string" },
        preview: { type: "boolean" },
        refresh: { type: "boolean" },
        destroy: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError("repository: expected exactly one <owner>/<repo>");
  const modes = (["preview", "refresh", "destroy"] as const).filter((m) => values[m]);
  if (modes.length > 1) throw new UsageError(`mode: --${modes.join(" and --")} exclude each other`);
  let ref;
  try {
    ref = parseRepoRef(positionals[0]);
  } catch (err) {
    if (err instanceof InvalidRepoNameError) throw new UsageError(err.message); // it names the field
    throw err;
  }
  const body = {
    ...ref,
    ...(values["display-name"] !== undefined ? { displayName: values["display-name"] } : {}),
    ...(values["default-branch"] !== undefined ? { defaultBranch: values["default-branch"] } : {}),
  };
  return { kind: modes[0] ?? "onboard", body };
}

/**
 * The stack input, built as the server builds it: an onboard's from the request (POST /v1/onboardings); a
 * preview's is the input last applied (by the server or the CLI, as the database records it) with the flags' changes,
 * as POST /v1/repos/<owner>/<repo>/preview does, so that a preview of an unchanged repo shows no changes.
 */
async function requestFor(
  kind: RunKind,
  body: Record<string, unknown>,
  defaults: OnboardingDefaults,
  pool: Pool | undefined,
): Promise<RunRequest> {
  let built;
  try {
    built = buildOnboardingRequest(body, defaults);
  } catch (err) {
    if (err instanceof RequestValidationError) throw new UsageError(err.issues.map((i) => `${i.field}: ${i.message}`).join("\n"));
    throw err;
  }
  if (kind === "onboard") return built.request;
  const applied = pool ? await lastAppliedRequest(pool, stackNameFor(built.parsed)) : undefined;
  return applied ? mergeSettings(applied, body) : built.request;
}

async function main(): Promise<number> {
  let kind: RunKind;
  let body: Record<string, unknown>;
  let defaults: OnboardingDefaults;
  try {
    ({ kind, body } = parse(process.argv.slice(2)));
    // The server's own settings: the CLI's stacks must be the server's, webhook URL included.
    defaults = loadOnboardingDefaults(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration: ${err.message}`);
      return 2;
    }
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  // The same state backend and secrets as the server's; a shared backend keeps stack settings in its database,
  // and the database knows what the server last applied.
  const settings = workspaceSettings(process.env, { scratchDir: process.env.MESH_SIX_SCRATCH_DIR });
  const pool = process.env.DATABASE_URL ? new Pool({ connectionString: process.env.DATABASE_URL, max: 2 }) : undefined;
  try {
    if (pool) await migrate(pool);
    if (pool && settings.workDir !== PROJECT_DIR) settings.stackSettings = new DatabaseStackSettings(pool);
    let request: RunRequest;
    try {
      request = await requestFor(kind, body, defaults, pool);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      console.error(`${err.message}\n${USAGE}`);
      return 2;
    }
    return await execute(kind, request, settings);
  } finally {
    await pool?.end();
  }
}

async function execute(kind: RunKind, request: RunRequest, settings: WorkspaceSettings): Promise<number> {
  const now = new Date();
  const run: RunRecord = {
    id: randomUUID(),
    seq: 0,
    kind,
    owner: request.owner,
    repo: request.repo,
    stackName: stackNameFor(request),
    status: "running",
    step: null,
    request,
    options: {},
    leaseOwner: null,
    leaseExpiresAt: null,
    cancelRequestedAt: null,
    interruptions: 0,
    startedAt: now,
    finishedAt: null,
    failedStep: null,
    failureReason: null,
    changeSummary: null,
    outputs: null,
    policy: null,
    auth: null,
    authReceivedAt: null,
    fingerprint: null,
    upToDateWith: null,
    createdAt: now,
    updatedAt: now,
  };
  const controller = new AbortController();
  // First Ctrl-C stops the update gracefully; a second one is Node's default (exit at once).
  process.once("SIGINT", () => {
    console.error("interrupted: stopping the update gracefully (Ctrl-C again to exit at once)");
    controller.abort();
  });
  console.error(`${kind} ${run.stackName}`);
  try {
    // As the server's runs do: GitHub is asked first, before any stack is selected or resource made.
    if (validatesFirst(run)) {
      console.error(`step ${VALIDATE_STEP}`);
      await githubRepoValidator(process.env, (line) => console.error(line))(run, controller.signal);
    }
    const result = await new PulumiStackRunner({ settings, log: textLogger() }).run(run, controller.signal, async (event) => {
      const line = progressLine(event);
      if (line) console.error(line);
    });
    console.log(
      JSON.stringify({ kind, stack: run.stackName, changeSummary: result.changeSummary, outputs: redactOutputs(result.outputs) }, null, 2),
    );
    return 0;
  } catch (err) {
    console.error(err instanceof RunStepError ? `failed at step ${err.step}: ${err.reason}` : `failed: ${(err as Error).message}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`failed: ${err.message}`);
    process.exit(1);
  },
);
