import assert from "node:assert/strict";
import type { Pool } from "pg";
import { GitHubBoardClient } from "../clients/github-board";
import type { WorkflowState } from "../domain/workflow";
import type { BoardEmulator } from "./github-emulator";
import { waitFor } from "./server";
import { deliver, processedRow } from "./webhooks";

/**
 * A repo's board as a test drives it: the emulator's card for an issue, read back through the client the server
 * writes with, and a person's moves made on the emulator with the webhook GitHub would send. Shared by the
 * server-tier board tests (a hand-made board) and the integration walk-through (the board an onboarding made).
 */

/** A server the test talks to: in-process (testkit/server.ts) or a process (testkit/server-process.ts). */
export interface BoardServer {
  request(pathname: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  db: { pool: Pool };
}

export interface Board {
  org: string;
  orgSecret: string;
  repo: { owner: string; repo: string; fullName: string; secret: string; url: string };
  projectId: string;
  statusFieldId: string;
  statusOptions: Record<string, string>;
}

export class BoardDriver {
  constructor(readonly emu: Pick<BoardEmulator, "apiUrl" | "graphqlUrl" | "token">) {}

  async call<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.emu.apiUrl}${path}`, {
      method: "POST",
      headers: { authorization: `token ${this.emu.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as T & { data?: unknown; errors?: unknown };
    if (res.status >= 300 || json.errors) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return (await this.call<{ data: T }>("/graphql", { query, variables })).data;
  }

  reader(): GitHubBoardClient {
    return new GitHubBoardClient({ graphqlUrl: this.emu.graphqlUrl, token: this.emu.token });
  }

  async newIssue(owner: string, repo: string, title: string): Promise<{ number: number; nodeId: string }> {
    const made = await this.call<{ number: number; node_id: string }>(`/_emulator/repos/${owner}/${repo}/issues`, { title });
    return { number: made.number, nodeId: made.node_id };
  }

  /** The issue's cards on any board. */
  async cardsOf(issueNodeId: string): Promise<{ id: string; project: { id: string } }[]> {
    const data = await this.gql<{ node: { projectItems: { nodes: { id: string; project: { id: string } }[] } } }>(
      `query($id: ID!) { node(id: $id) { ... on Issue { projectItems(first: 10) { nodes { id project { id } } } } } }`,
      { id: issueNodeId },
    );
    return data.node.projectItems.nodes;
  }

  /** The card's fields by name. */
  async cardFields(board: Board, issueNodeId: string): Promise<Record<string, string | null>> {
    const client = this.reader();
    const itemId = await client.findItem(board.projectId, issueNodeId);
    if (!itemId) return {};
    const item = await client.readItem(itemId);
    return Object.fromEntries((item?.values ?? []).map((v) => [v.fieldName, v.value]));
  }

  cardShows(board: Board, issueNodeId: string, column: string, what: string): Promise<Record<string, string | null>> {
    return waitFor(
      async () => {
        const fields = await this.cardFields(board, issueNodeId);
        return fields.Status === column ? fields : undefined;
      },
      `the card to show ${column} (${what})`,
      10_000,
    );
  }

  /** A person's move on the board: the emulator's card changes and GitHub's webhook follows, signed for the org route. */
  async personMoves(srv: BoardServer, board: Board, issueNodeId: string, from: string, to: string, sender = "alice") {
    const itemId = await this.reader().findItem(board.projectId, issueNodeId);
    assert.ok(itemId);
    await this.gql(
      `mutation($p: ID!, $i: ID!, $f: ID!, $o: String!) { updateProjectV2ItemFieldValue(input: { projectId: $p, itemId: $i, fieldId: $f, value: { singleSelectOptionId: $o } }) { projectV2Item { id } } }`,
      { p: board.projectId, i: itemId, f: board.statusFieldId, o: board.statusOptions[to] },
    );
    const body = JSON.stringify({
      action: "edited",
      projects_v2_item: { id: 1, node_id: itemId, project_node_id: board.projectId, content_node_id: issueNodeId, content_type: "Issue" },
      changes: {
        field_value: {
          field_node_id: board.statusFieldId,
          field_type: "single_select",
          from: { id: board.statusOptions[from], name: from },
          to: { id: board.statusOptions[to], name: to },
        },
      },
      organization: { login: board.org },
      sender: { login: sender },
    });
    const res = await deliver(srv, `/webhooks/github-org/${board.org}`, body, { secret: board.orgSecret, event: "projects_v2_item" });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal((await processedRow(srv, res.deliveryId)).status, "processed");
    const { rows } = await srv.db.pool.query("SELECT outcome, reason, from_state, to_state FROM board_moves WHERE delivery_id = $1", [
      res.deliveryId,
    ]);
    return rows[0] as { outcome: string; reason: string | null; from_state: string | null; to_state: string | null };
  }
}

export async function taskState(srv: BoardServer, id: string): Promise<{ state: WorkflowState; delivery_status: string }> {
  const { rows } = await srv.db.pool.query("SELECT state, delivery_status FROM tasks WHERE id = $1", [id]);
  return rows[0];
}

/** The agent's report of a new state, through the API. */
export async function transition(srv: BoardServer, id: string, to: WorkflowState): Promise<void> {
  const res = await srv.request(`/v1/tasks/${id}/transition`, { method: "POST", json: { to } });
  assert.equal(res.status, 200, await res.text());
}
