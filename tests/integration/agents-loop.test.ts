// The agents' loop against the sandbox, on a repo the server onboarded itself (issue 16's walk-through): the
// onboarding made the board, the webhook and its secret; a labelled issue (a signed webhook) becomes a task
// delivered to an agent; the agent's reports move the card through every column with its fields; a person's
// move sends the task back; and board writes outlive a GitHub outage made with the emulator's faults.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { tokenDigest } from "../../emulators/github/tokens";
import { REPO_WEBHOOK_ROUTE, vaultOrgWebhookPath, vaultWebhookPath } from "../../domain/names";
import { STATUS_COLUMN, STATUS_COLUMNS, TEXT_FIELDS, type WorkflowState } from "../../domain/workflow";
import { registerAgent, startAgent, type TestAgent } from "../../testkit/agents";
import { type Board, BoardDriver, taskState, transition } from "../../testkit/boards";
import { type TestDatabase, createTestDatabase } from "../../testkit/database";
import { emulator } from "../../testkit/github-emulator";
import { runFinished, type ServerProcess, startServerProcess } from "../../testkit/server-process";
import { waitFor } from "../../testkit/server";
import { readVaultSecret, writeVaultSecret } from "../../testkit/vault-api";
import { deliver, issuePayload, newSecret, processedRow, uniqueOwner, workItems } from "../../testkit/webhooks";

const org = uniqueOwner("loop");
const ref = { owner: org, repo: "widgets" };
// The server's own GitHub token, so that a fault scoped to it hurts no other client of the shared emulator.
const serverToken = `loop-${randomBytes(16).toString("hex")}`;
let stateDir: string;
let db: TestDatabase;
let server: ServerProcess & { db: TestDatabase };
let agent: TestAgent;
let board: Board;
let driver: BoardDriver;

before(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-loop-"));
  db = await createTestDatabase("agents_loop");
  const made = await emulator("POST", "/_emulator/repos", { owner: org, name: ref.repo, owner_type: "Organization", auto_init: true });
  assert.equal(made.status, 201);
  assert.equal((await emulator("POST", "/_emulator/tokens", { token: serverToken })).status, 201);
  const proc = await startServerProcess({
    env: {
      DATABASE_URL: db.url,
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: "loop-test-passphrase",
      MESH_SIX_PUBLIC_URL: "https://mesh-six.example.test",
      GITHUB_TOKEN: serverToken,
      MESH_SIX_POLL_MS: "200",
      MESH_SIX_BOARD_RETRY_BASE_MS: "50",
      MESH_SIX_BOARD_RETRY_MAX_MS: "400",
    },
  });
  server = Object.assign(proc, { db });
  // The test reads the board with the emulator's own token: the outage below is the server's alone.
  driver = new BoardDriver({
    apiUrl: process.env.GITHUB_API_URL!,
    graphqlUrl: `${process.env.GITHUB_API_URL}/graphql`,
    token: process.env.GITHUB_EMULATOR_TOKEN!,
  });
  agent = await startAgent("accept");
});

after(async () => {
  await agent?.close();
  await server?.stop();
  await db?.drop();
  await rm(stateDir, { recursive: true, force: true });
});

test("onboarding makes the repo's board, webhook secret and registry row the loop works through", { timeout: 6 * 60_000 }, async () => {
  const res = await server.request("/v1/onboardings", { method: "POST", json: { ...ref, skipAuth: true } });
  assert.equal(res.status, 202, await res.clone().text());
  const run = await runFinished(server, ((await res.json()) as { runId: string }).runId);
  assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
  const { rows } = await db.pool.query<{ project_id: string | null; status_field_id: string; status_options: Record<string, string> }>(
    "SELECT project_id, status_field_id, status_options FROM repo_registry WHERE owner = $1 AND repo = $2",
    [ref.owner, ref.repo],
  );
  assert.ok(rows[0]?.project_id, "the registry names the repo's own board");
  const hook = await readVaultSecret(vaultWebhookPath(ref));
  assert.ok(hook?.secret, "the webhook's secret is in Vault");
  // GitHub's organization webhook (board moves) is the operator's, not the repo stack's: its secret is put in place here.
  const orgSecret = newSecret();
  await writeVaultSecret(vaultOrgWebhookPath(org), { secret: orgSecret });
  board = {
    org,
    orgSecret,
    repo: { ...ref, fullName: `${org}/${ref.repo}`, secret: hook.secret, url: `${REPO_WEBHOOK_ROUTE}/${org}/${ref.repo}` },
    projectId: rows[0].project_id,
    statusFieldId: rows[0].status_field_id,
    statusOptions: rows[0].status_options,
  };
  for (const column of STATUS_COLUMNS) assert.ok(board.statusOptions[column], `the board has a ${column} column`);
});

test(
  "a labelled issue's card follows its task through every column and a person's move sends the task back",
  { timeout: 3 * 60_000 },
  async () => {
    assert.ok(board, "the onboarding test ran first");
    await registerAgent(server, "agent-pod-0", agent.url, { planning: 1 });
    const issue = await driver.newIssue(org, ref.repo, "Make widgets faster");
    const body = issuePayload(board.repo.fullName, {
      action: "labeled",
      labels: ["mesh-six"],
      added: "mesh-six",
      number: issue.number,
      nodeId: issue.nodeId,
    });
    const labelled = await deliver(server, board.repo.url, body, { secret: board.repo.secret, event: "issues" });
    assert.equal(labelled.status, 202, JSON.stringify(labelled.json));
    await processedRow(server, labelled.deliveryId);
    const taskId = (await workItems(server, labelled.deliveryId))[0]?.task_id;
    assert.ok(taskId, "the delivery became a task");

    const steps: string[] = [];
    const step = async (what: string, state: WorkflowState) => {
      const fields = await driver.cardShows(board, issue.nodeId, STATUS_COLUMN[state], what);
      assert.equal((await taskState(server, taskId)).state, state);
      assert.equal(fields[TEXT_FIELDS.workflowId], taskId);
      assert.equal(fields[TEXT_FIELDS.podName], "agent-pod-0");
      assert.ok(fields.Priority, "the card has a priority");
      steps.push(`${what.padEnd(40)} task ${state.padEnd(15)} card ${fields.Status!.padEnd(12)} pod ${fields[TEXT_FIELDS.podName]}`);
    };

    await waitFor(() => agent.received.length === 1, "the task to reach the agent", 20_000);
    await waitFor(
      async () => (await driver.cardFields(board, issue.nodeId))[TEXT_FIELDS.podName] === "agent-pod-0",
      "the card to name the agent",
      20_000,
    );
    await step("labelled, delivered to agent-pod-0", "INTAKE");
    for (const to of ["PLANNING", "IMPLEMENTATION", "QA", "REVIEW"] as const) {
      await transition(server, taskId, to);
      await step(`agent reports ${to}`, to);
    }
    const back = await driver.personMoves(server, board, issue.nodeId, "Review", "In Progress");
    assert.deepEqual([back.outcome, back.from_state, back.to_state], ["applied", "REVIEW", "IMPLEMENTATION"]);
    await step("alice moves the card Review -> In Progress", "IMPLEMENTATION");
    const failed = await server.request(`/v1/tasks/${taskId}/result`, {
      method: "POST",
      json: { outcome: "failed", result: null, error: "tests broke" },
    });
    assert.equal(failed.status, 200, await failed.text());
    await step("agent reports failure", "FAILED");
    const retried = await driver.personMoves(server, board, issue.nodeId, "Blocked", "Todo");
    assert.equal(retried.outcome, "applied");
    await waitFor(() => agent.received.length === 2, "the task to be delivered again", 20_000);
    await step("alice moves Blocked -> Todo: delivered again", "INTAKE");
    for (const to of ["PLANNING", "IMPLEMENTATION"] as const) {
      await transition(server, taskId, to);
      await step(`agent reports ${to}`, to);
    }

    // GitHub fails the server's next calls: the board writes wait and land, in order, none lost.
    const fault = await emulator("POST", "/_emulator/faults", { token: serverToken, kind: "server-error", count: 8 });
    assert.ok(fault.status < 300, JSON.stringify(fault.body));
    for (const to of ["QA", "REVIEW", "ACCEPTED"] as const) await transition(server, taskId, to);
    await step("GitHub 502s x8 meanwhile; agent reports QA, REVIEW, ACCEPTED", "ACCEPTED");
    const faults = (await emulator<{ tokenDigest?: string; served: number }[]>("GET", "/_emulator/faults")).body;
    const ours = faults.filter((f) => f.tokenDigest === tokenDigest(serverToken));
    assert.ok(ours.length === 1 && ours[0].served > 0, `the outage was met: ${JSON.stringify(ours)}`);
    await emulator("DELETE", "/_emulator/faults", { token: serverToken });
    const { rows } = await db.pool.query<{ state: string; status: string; attempts: number }>(
      "SELECT state, status, attempts FROM board_writes WHERE content_node_id = $1 ORDER BY id",
      [issue.nodeId],
    );
    assert.deepEqual(
      rows.filter((r) => r.status === "pending"),
      [],
      "no board write is left behind",
    );
    assert.equal(rows.at(-1)?.state, "ACCEPTED", "the last write is the last state");
    assert.ok(
      rows.some((r) => r.attempts > 1),
      `a write was retried through the outage: ${JSON.stringify(rows)}`,
    );
    const seen = new Set(steps.map((s) => /card (\S+( \S+)?)\s+pod/.exec(s)?.[1]));
    for (const column of STATUS_COLUMNS) assert.ok(seen.has(column), `the card never showed ${column}`);
    assert.equal((await driver.cardsOf(issue.nodeId)).length, 1, "one card for the issue");
    console.log(`the agents' loop on an onboarded repo (${org}/${ref.repo}):\n  ${steps.join("\n  ")}`);
  },
);
