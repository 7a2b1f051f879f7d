// Boards kept in step with the work, against a real GitHub emulator: an issue labelled for work gets a card on its
// repo's own board, the card follows every state of the task with its fields, a person's move becomes the task's
// transition (or is refused and recorded), redeliveries make no second card, and board writes outlive an outage
// in order.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { claimBoardWrite, finishBoardWrite, retryBoardWrite } from "../../dispatch/board-store";
import { PRIORITIES, STATUS_COLUMN, STATUS_COLUMNS, TEXT_FIELDS, type WorkflowState } from "../../domain/workflow";
import { registerAgent, startAgent } from "../../testkit/agents";
import { type Board, BoardDriver, taskState, transition } from "../../testkit/boards";
import { type BoardEmulator, boardEmulator } from "../../testkit/github-emulator";
import { type TestServer, waitFor } from "../../testkit/server";
import { startTcpProxy, type TcpProxy } from "../../testkit/tcp-proxy";
import { writeVaultSecret } from "../../testkit/vault-api";
import {
  deliver,
  issuePayload,
  newSecret,
  processedRow,
  registerRepo,
  startWebhookServer,
  uniqueOwner,
  workItems,
} from "../../testkit/webhooks";
import { vaultOrgWebhookPath } from "../../domain/names";

let emu: BoardEmulator;
let driver: BoardDriver;
let proxy: TcpProxy;

before(async () => {
  emu = await boardEmulator();
  driver = new BoardDriver(emu);
  const { hostname, port } = new URL(emu.apiUrl);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
});

after(async () => {
  await proxy?.close();
  await emu?.close();
});

interface HandBoard extends Board {
  textFieldIds: Record<string, string>;
  priorityOptions: Record<string, string>;
}

const FIELD_IDS = `... on ProjectV2Field { id name } ... on ProjectV2SingleSelectField { id name options { id name } }`;

/** A repo on the emulator with a board made as providers/project-board.ts makes it, and its registry row. */
async function boardRepo(srv: TestServer): Promise<HandBoard> {
  const org = uniqueOwner("board");
  await driver.call("/_emulator/repos", { owner: org, name: "Widgets", owner_type: "Organization" });
  const ids = await driver.gql<{ organization: { id: string }; repository: { id: string } }>(
    `query($o: String!) { organization(login: $o) { id } repository(owner: $o, name: "Widgets") { id } }`,
    { o: org },
  );
  const created = await driver.gql<{ createProjectV2: { projectV2: { id: string; field: { id: string } } } }>(
    `mutation($o: ID!, $r: ID!) { createProjectV2(input: { ownerId: $o, title: "Widgets", repositoryId: $r }) { projectV2 { id field(name: "Status") { ${FIELD_IDS} } } } }`,
    { o: ids.organization.id, r: ids.repository.id },
  );
  const projectId = created.createProjectV2.projectV2.id;
  const statusFieldId = created.createProjectV2.projectV2.field.id;
  const opts = (names: readonly string[]) => names.map((name) => ({ name, color: "GRAY", description: "" }));
  const status = await driver.gql<{ updateProjectV2Field: { projectV2Field: { options: { id: string; name: string }[] } } }>(
    `mutation($f: ID!, $o: [ProjectV2SingleSelectFieldOptionInput!]) { updateProjectV2Field(input: { fieldId: $f, singleSelectOptions: $o }) { projectV2Field { ${FIELD_IDS} } } }`,
    { f: statusFieldId, o: opts(STATUS_COLUMNS) },
  );
  const create = `mutation($p: ID!, $t: ProjectV2CustomFieldType!, $n: String!, $o: [ProjectV2SingleSelectFieldOptionInput!]) {
    createProjectV2Field(input: { projectId: $p, dataType: $t, name: $n, singleSelectOptions: $o }) { projectV2Field { ${FIELD_IDS} } } }`;
  type Made = { createProjectV2Field: { projectV2Field: { id: string; options?: { id: string; name: string }[] } } };
  const priority = await driver.gql<Made>(create, { p: projectId, t: "SINGLE_SELECT", n: "Priority", o: opts(PRIORITIES) });
  const textFieldIds: Record<string, string> = {};
  for (const name of Object.values(TEXT_FIELDS)) {
    textFieldIds[name] = (await driver.gql<Made>(create, { p: projectId, t: "TEXT", n: name })).createProjectV2Field.projectV2Field.id;
  }
  const byName = (o: { id: string; name: string }[]) => Object.fromEntries(o.map((x) => [x.name, x.id]));
  const statusOptions = byName(status.updateProjectV2Field.projectV2Field.options);
  const priorityOptions = byName(priority.createProjectV2Field.projectV2Field.options ?? []);
  const repo = await registerRepo(srv, { projectId, statusFieldId, statusOptions }, undefined, org);
  await srv.db.pool.query(
    `UPDATE repo_registry SET priority_field_id = $2, priority_options = $3, session_field_id = $4, pod_name_field_id = $5, workflow_field_id = $6
     WHERE full_name = $1`,
    [
      repo.fullName,
      priority.createProjectV2Field.projectV2Field.id,
      JSON.stringify(priorityOptions),
      textFieldIds[TEXT_FIELDS.sessionId],
      textFieldIds[TEXT_FIELDS.podName],
      textFieldIds[TEXT_FIELDS.workflowId],
    ],
  );
  const orgSecret = newSecret();
  await writeVaultSecret(vaultOrgWebhookPath(org), { secret: orgSecret });
  return { org, orgSecret, repo, projectId, statusFieldId, statusOptions, textFieldIds, priorityOptions };
}

const newIssue = (board: Board, title: string) => driver.newIssue(board.org, "Widgets", title);

async function labelIssue(srv: TestServer, board: Board, issue: { number: number; nodeId: string }, deliveryId?: string) {
  const body = issuePayload(board.repo.fullName, {
    action: "labeled",
    labels: ["mesh-six"],
    added: "mesh-six",
    number: issue.number,
    nodeId: issue.nodeId,
  });
  const res = await deliver(srv, board.repo.url, body, { secret: board.repo.secret, event: "issues", deliveryId });
  return res;
}

function boardServer(extra: Parameters<typeof startWebhookServer>[0] = {}) {
  return startWebhookServer({
    ...extra,
    config: {
      boards: { graphqlUrl: `http://${proxy.address}/graphql`, token: emu.token, retryBaseMs: 20, retryMaxMs: 200 },
      taskRetryBaseMs: 10,
      ...extra.config,
    },
  });
}

test("the walk-through: a labelled issue's card follows its task through every column, and the task follows a person's moves", async () => {
  const srv = await boardServer();
  const agent = await startAgent("accept");
  try {
    const board = await boardRepo(srv);
    await registerAgent(srv, "agent-pod-0", agent.url, { planning: 1 });
    const issue = await newIssue(board, "Make widgets faster");
    const labelled = await labelIssue(srv, board, issue);
    assert.equal(labelled.status, 202);
    await processedRow(srv, labelled.deliveryId);
    const [item] = await workItems(srv, labelled.deliveryId);
    const taskId = item.task_id!;
    assert.ok(taskId);
    const steps: string[] = [];
    const step = async (what: string, state: WorkflowState) => {
      const fields = await driver.cardShows(board, issue.nodeId, STATUS_COLUMN[state], what);
      assert.equal((await taskState(srv, taskId)).state, state);
      assert.equal(fields[TEXT_FIELDS.workflowId], taskId);
      assert.equal(fields.Priority, "Medium");
      steps.push(
        `${what.padEnd(44)} task ${state.padEnd(15)} card ${fields.Status!.padEnd(12)} pod ${fields[TEXT_FIELDS.podName]} session ${fields[TEXT_FIELDS.sessionId]?.replace(taskId, "<task>")}`,
      );
      return fields;
    };

    // Delivered to the agent: the card is on the repo's board in Todo, with the agent's pod and session.
    await waitFor(() => agent.received.length === 1, "the task to reach the agent", 10_000);
    await waitFor(
      async () => (await driver.cardFields(board, issue.nodeId))[TEXT_FIELDS.podName] === "agent-pod-0",
      "the card to name the agent",
      10_000,
    );
    const first = await step("labelled, delivered to agent-pod-0", "INTAKE");
    assert.equal(first[TEXT_FIELDS.sessionId], `${taskId}/1`);

    for (const to of ["PLANNING", "IMPLEMENTATION", "QA", "REVIEW"] as const) {
      await transition(srv, taskId, to);
      await step(`agent reports ${to}`, to);
    }

    // A person sends the work back from Review to In Progress: the task follows.
    const back = await driver.personMoves(srv, board, issue.nodeId, "Review", "In Progress");
    assert.deepEqual([back.outcome, back.from_state, back.to_state], ["applied", "REVIEW", "IMPLEMENTATION"]);
    await step("alice moves the card Review -> In Progress", "IMPLEMENTATION");

    // A move the workflow does not allow is recorded and refused, and the card is put back.
    const refused = await driver.personMoves(srv, board, issue.nodeId, "In Progress", "Done");
    assert.equal(refused.outcome, "refused");
    assert.match(refused.reason ?? "", /cannot go from IMPLEMENTATION to ACCEPTED/);
    await step("alice moves it to Done: refused, put back", "IMPLEMENTATION");

    // The server's own move coming back as a webhook changes nothing.
    const echo = await driver.personMoves(srv, board, issue.nodeId, "In Progress", "QA", "mesh-six-bot");
    assert.equal(echo.outcome, "own");
    assert.equal((await taskState(srv, taskId)).state, "IMPLEMENTATION");
    await transition(srv, taskId, "QA"); // the card shows QA again from the server's side, as the webhook did
    await step("server's own echo ignored; agent reports QA", "QA");

    // The agent fails: Blocked. A person moves the card back to Todo: the task is delivered again.
    const failed = await srv.request(`/v1/tasks/${taskId}/result`, {
      method: "POST",
      json: { outcome: "failed", result: null, error: "tests broke" },
    });
    assert.equal(failed.status, 200);
    await step("agent reports failure", "FAILED");
    const retried = await driver.personMoves(srv, board, issue.nodeId, "Blocked", "Todo");
    assert.equal(retried.outcome, "applied");
    await waitFor(() => agent.received.length === 2, "the task to be delivered again", 10_000);
    await waitFor(
      async () => (await driver.cardFields(board, issue.nodeId))[TEXT_FIELDS.sessionId] === `${taskId}/2`,
      "the second session on the card",
      10_000,
    );
    await step("alice moves Blocked -> Todo: delivered again", "INTAKE");

    for (const to of ["PLANNING", "IMPLEMENTATION", "QA", "REVIEW", "ACCEPTED"] as const) {
      await transition(srv, taskId, to);
      await step(`agent reports ${to}`, to);
    }
    console.log(`walk-through on ${emu.shared ? "the sandbox's" : "this checkout's"} GitHub emulator:\n  ${steps.join("\n  ")}`);

    const seen = new Set(steps.map((s) => /card (\S+( \S+)?)\s+pod/.exec(s)?.[1]));
    for (const column of STATUS_COLUMNS) assert.ok(seen.has(column), `the card never showed ${column}`);
    assert.equal((await driver.cardsOf(issue.nodeId)).length, 1, "one card for the issue");
    const { rows } = await srv.db.pool.query("SELECT outcome, count(*)::int AS n FROM board_moves GROUP BY outcome ORDER BY outcome");
    assert.deepEqual(rows, [
      { outcome: "applied", n: 2 },
      { outcome: "own", n: 1 },
      { outcome: "refused", n: 1 },
    ]);
  } finally {
    await agent.close();
    await srv.close();
  }
});

test("a redelivered or repeated label makes no second card: the card is looked up by its issue first", async () => {
  const srv = await boardServer({ startDispatcher: false });
  try {
    const board = await boardRepo(srv);
    const issue = await newIssue(board, "Twice");
    const deliveryId = randomUUID();
    assert.equal((await labelIssue(srv, board, issue, deliveryId)).status, 202);
    await processedRow(srv, deliveryId);
    await driver.cardShows(board, issue.nodeId, "Todo", "first delivery");
    // GitHub's redeliver reuses the id: a duplicate.
    assert.equal((await labelIssue(srv, board, issue, deliveryId)).status, 200);
    // The same issue labelled again (a new delivery, a new task): the writer has forgotten the card and must find it.
    await srv.db.pool.query("DELETE FROM board_cards");
    const again = await labelIssue(srv, board, issue);
    await processedRow(srv, again.deliveryId);
    await waitFor(
      async () =>
        (await srv.db.pool.query("SELECT 1 FROM board_writes WHERE status = 'pending'")).rowCount === 0 &&
        (await srv.db.pool.query("SELECT 1 FROM board_cards")).rowCount === 1,
      "the second task's card write",
      10_000,
    );
    const { rows } = await srv.db.pool.query("SELECT count(*)::int AS n FROM tasks");
    assert.equal(rows[0].n, 2);
    assert.equal((await driver.cardsOf(issue.nodeId)).length, 1, "still one card for the issue");
  } finally {
    await srv.close();
  }
});

test("board writes wait out a GitHub outage: none is lost and each card's writes land in order", async () => {
  const srv = await boardServer({ startDispatcher: false });
  try {
    const board = await boardRepo(srv);
    const issues = [await newIssue(board, "One"), await newIssue(board, "Two")];
    proxy.cut();
    const tasks: string[] = [];
    for (const issue of issues) {
      const res = await labelIssue(srv, board, issue);
      await processedRow(srv, res.deliveryId);
      tasks.push((await workItems(srv, res.deliveryId))[0].task_id!);
    }
    for (const to of ["PLANNING", "IMPLEMENTATION", "QA"] as const) for (const id of tasks) await transition(srv, id, to);
    await waitFor(
      async () => (await srv.db.pool.query("SELECT 1 FROM board_writes WHERE attempts >= 2 AND last_error IS NOT NULL")).rowCount! >= 2,
      "writes to fail and be retried while GitHub is away",
      10_000,
    );
    for (const issue of issues) assert.deepEqual(await driver.cardsOf(issue.nodeId), [], "no card while GitHub is away");
    const pending = await srv.db.pool.query("SELECT count(*)::int AS n FROM board_writes WHERE status = 'pending'");
    assert.equal(pending.rows[0].n, 8);
    proxy.restore();
    await waitFor(
      async () => (await srv.db.pool.query("SELECT 1 FROM board_writes WHERE status = 'pending'")).rowCount === 0,
      "the writes to land",
      15_000,
    );
    for (const issue of issues) {
      assert.equal((await driver.cardFields(board, issue.nodeId)).Status, "QA");
      assert.equal((await driver.cardsOf(issue.nodeId)).length, 1);
      const { rows } = await srv.db.pool.query<{ id: string; state: string }>(
        "SELECT id, state FROM board_writes WHERE content_node_id = $1 ORDER BY done_at, id",
        [issue.nodeId],
      );
      assert.deepEqual(
        rows.map((r) => r.state),
        ["INTAKE", "PLANNING", "IMPLEMENTATION", "QA"],
        "written in the order the task changed",
      );
      assert.deepEqual(
        rows.map((r) => Number(r.id)),
        rows.map((r) => Number(r.id)).sort((a, b) => a - b),
      );
    }
    const { rows } = await srv.db.pool.query("SELECT max(attempts)::int AS most FROM board_writes");
    console.log(`outage: 8 writes queued while GitHub was away, the first of each card tried ${rows[0].most} times, all landed in order`);
  } finally {
    proxy.restore();
    await srv.close();
  }
});

test("writers claim only the oldest pending write of each card, so two writers never reorder one card", async () => {
  const srv = await boardServer({ startDispatcher: false, startBoards: false });
  try {
    const { owner, repo } = await registerRepo(srv, {}, null);
    const taskOf = async (content: string) =>
      (
        await srv.db.pool.query<{ id: string }>(
          `INSERT INTO tasks (capability, owner, repo, payload, timeout_ms, board_content_id) VALUES ('planning', $1, $2, '{}', 1000, $3) RETURNING id`,
          [owner, repo, content],
        )
      ).rows[0].id;
    const x = await taskOf("I_x");
    const y = await taskOf("I_y");
    await srv.db.pool.query("UPDATE tasks SET state = 'PLANNING' WHERE id = ANY($1)", [[x, y]]);
    const a = await claimBoardWrite(srv.db.pool, "writer-a", 60_000);
    const b = await claimBoardWrite(srv.db.pool, "writer-b", 60_000);
    assert.deepEqual([a?.contentNodeId, a?.state, b?.contentNodeId, b?.state], ["I_x", "INTAKE", "I_y", "INTAKE"]);
    assert.equal(await claimBoardWrite(srv.db.pool, "writer-c", 60_000), undefined, "each card's PLANNING waits for its INTAKE");
    // A failed write keeps its place: the card's later write still waits for it.
    await retryBoardWrite(srv.db.pool, a!.id, "writer-a", "GitHub away", 0);
    const again = await claimBoardWrite(srv.db.pool, "writer-c", 60_000);
    assert.deepEqual([again?.id, again?.attempts], [a!.id, 2]);
    assert.equal(await finishBoardWrite(srv.db.pool, a!.id, "writer-a"), false, "a write is finished only by the writer holding it");
    assert.equal(await finishBoardWrite(srv.db.pool, a!.id, "writer-c"), true);
    const next = await claimBoardWrite(srv.db.pool, "writer-c", 60_000);
    assert.deepEqual([next?.contentNodeId, next?.state], ["I_x", "PLANNING"]);
    // A writer that died: its lease lapses and another writer takes the write.
    await srv.db.pool.query("UPDATE board_writes SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [b!.id]);
    assert.equal((await claimBoardWrite(srv.db.pool, "writer-d", 60_000))?.id, b!.id);
  } finally {
    await srv.close();
  }
});
