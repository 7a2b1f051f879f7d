import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Pool } from "pg";
import { PulumiStackRunner } from "../../automation/runner";
import { PROJECT_DIR, workspaceSettings } from "../../automation/workspace";
import { redactOutputs, type RunKind, type RunRecord, RunStepError } from "../../automation/runs";
import { InvalidRepoNameError, parseRepoRef, stackNameFor } from "../../stacks/names";
import type { RepoStackInput } from "../../stacks/repo-config";
import { migrate } from "../db/migrate";
import { DatabaseStackSettings } from "../db/stack-settings";
import { toFieldIssues } from "../requests";
import { onboardingRequest } from "../schemas";
import { progressLine } from "./progress";

/**
 * `npm run onboard -- <owner>/<repo> [--display-name X] [--preview|--refresh|--destroy]`: the server's
 * runner without the server (no queue, no database of runs). Progress goes to stderr, the result (outputs
 * redacted) to stdout as JSON. Exit 2: bad input; 1: the run failed.
 */

const USAGE = "usage: npm run onboard -- <owner>/<repo> [--display-name NAME] [--default-branch BRANCH] [--preview|--refresh|--destroy]";

class UsageError extends Error {}

function parse(argv: string[]): { kind: RunKind; request: RepoStackInput } {
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
  const request: RepoStackInput = {
    ...ref,
    ...(values["display-name"] !== undefined ? { displayName: values["display-name"] } : {}),
    ...(values["default-branch"] !== undefined ? { defaultBranch: values["default-branch"] } : {}),
  };
  const checked = onboardingRequest.safeParse(request);
  if (!checked.success) {
    throw new UsageError(toFieldIssues(checked.error.issues).map((i) => `${i.field}: ${i.message}`).join("\n"));
  }
  return { kind: modes[0] ?? "onboard", request };
}

async function main(): Promise<number> {
  let kind: RunKind;
  let request: RepoStackInput;
  try {
    ({ kind, request } = parse(process.argv.slice(2)));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
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
  // The same state backend and secrets as the server's; a shared backend keeps stack settings in its database.
  const settings = workspaceSettings(process.env, { scratchDir: process.env.MESH_SIX_SCRATCH_DIR });
  const pool = settings.workDir !== PROJECT_DIR && process.env.DATABASE_URL ? new Pool({ connectionString: process.env.DATABASE_URL, max: 2 }) : undefined;
  try {
    if (pool) {
      await migrate(pool);
      settings.stackSettings = new DatabaseStackSettings(pool);
    }
    const result = await new PulumiStackRunner({ settings }).run(run, controller.signal, async (event) => {
      const line = progressLine(event);
      if (line) console.error(line);
    });
    console.log(JSON.stringify({ kind, stack: run.stackName, changeSummary: result.changeSummary, outputs: redactOutputs(result.outputs) }, null, 2));
    return 0;
  } catch (err) {
    console.error(err instanceof RunStepError ? `failed at step ${err.step}: ${err.reason}` : `failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await pool?.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`failed: ${err.message}`);
    process.exit(1);
  },
);
