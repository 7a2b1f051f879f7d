import { graphql } from "@octokit/graphql";

/**
 * The GraphQL the server's board writer sends to GitHub: finding an issue's card on a board, adding it, setting
 * its field values and reading them back. Kept to @octokit/graphql and these documents so that the client can
 * later be swapped for a shared one with retries; the writer retries on its own, through its outbox.
 */

export interface BoardClientOptions {
  /** GitHub's GraphQL endpoint (GITHUB_GRAPHQL_URL, e.g. https://api.github.com/graphql). */
  graphqlUrl: string;
  token: string;
  /** Per-request timeout (default 10 s): a hung GitHub must fail the write, not stall the writer. */
  timeoutMs?: number;
}

export type FieldValue = { text: string } | { singleSelectOptionId: string };

export interface FieldWrite {
  fieldId: string;
  value: FieldValue;
}

export interface ItemFieldValue {
  fieldId: string;
  fieldName: string;
  /** The text, or the option's name for a single-select field. */
  value: string | null;
  optionId?: string;
}

export interface BoardItem {
  id: string;
  projectId: string;
  contentId: string | null;
  values: ItemFieldValue[];
}

export const VIEWER_QUERY = `query { viewer { login } }`;

export const ITEMS_OF_CONTENT_QUERY = `query($contentId: ID!) {
  node(id: $contentId) { ... on Issue { projectItems(first: 50) { nodes { id project { id } } } } }
}`;

export const ADD_ITEM_MUTATION = `mutation($projectId: ID!, $contentId: ID!) {
  addProjectV2ItemById(input: { projectId: $projectId, contentId: $contentId }) { item { id } }
}`;

export const ITEM_QUERY = `query($itemId: ID!) {
  node(id: $itemId) {
    ... on ProjectV2Item {
      id
      project { id }
      content { ... on Issue { id } }
      fieldValues(first: 50) {
        nodes {
          ... on ProjectV2ItemFieldTextValue { text field { ... on ProjectV2FieldCommon { id name } } }
          ... on ProjectV2ItemFieldSingleSelectValue { name optionId field { ... on ProjectV2FieldCommon { id name } } }
        }
      }
    }
  }
}`;

/** One request that sets `count` fields of one item (aliases f0…), so a write is one round trip. */
export function setFieldsMutation(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$f${i}: ID!, $v${i}: ProjectV2FieldValue!`).join(", ");
  const sets = Array.from(
    { length: count },
    (_, i) =>
      `f${i}: updateProjectV2ItemFieldValue(input: { projectId: $projectId, itemId: $itemId, fieldId: $f${i}, value: $v${i} }) { projectV2Item { id } }`,
  ).join("\n  ");
  return `mutation($projectId: ID!, $itemId: ID!, ${vars}) {\n  ${sets}\n}`;
}

interface FieldNode {
  id: string;
  name: string;
}

interface ValueNode {
  text?: string | null;
  name?: string | null;
  optionId?: string | null;
  field?: FieldNode;
}

export class GitHubBoardClient {
  private readonly client: typeof graphql;
  private readonly timeoutMs: number;
  private login?: Promise<string>;

  constructor(opts: BoardClientOptions) {
    this.client = graphql.defaults({ url: opts.graphqlUrl, headers: { authorization: `bearer ${opts.token}` } });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return this.client<T>(query, { ...variables, request: { signal: AbortSignal.timeout(this.timeoutMs) } });
  }

  /** Who the server is on GitHub: its own moves come back in webhooks with this login as sender. */
  viewerLogin(): Promise<string> {
    this.login ??= this.gql<{ viewer: { login: string } }>(VIEWER_QUERY)
      .then((d) => d.viewer.login)
      .catch((err: unknown) => {
        this.login = undefined;
        throw err;
      });
    return this.login;
  }

  /** The content's card on `projectId`, if it has one. */
  async findItem(projectId: string, contentId: string): Promise<string | undefined> {
    const data = await this.gql<{ node: { projectItems?: { nodes: { id: string; project: { id: string } }[] } } | null }>(
      ITEMS_OF_CONTENT_QUERY,
      { contentId },
    );
    return data.node?.projectItems?.nodes.find((n) => n.project.id === projectId)?.id;
  }

  async addItem(projectId: string, contentId: string): Promise<string> {
    const data = await this.gql<{ addProjectV2ItemById: { item: { id: string } } }>(ADD_ITEM_MUTATION, { projectId, contentId });
    return data.addProjectV2ItemById.item.id;
  }

  async setFields(projectId: string, itemId: string, writes: FieldWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const variables: Record<string, unknown> = { projectId, itemId };
    writes.forEach((w, i) => {
      variables[`f${i}`] = w.fieldId;
      variables[`v${i}`] = w.value;
    });
    await this.gql(setFieldsMutation(writes.length), variables);
  }

  async readItem(itemId: string): Promise<BoardItem | undefined> {
    const data = await this.gql<{
      node: { id?: string; project?: { id: string }; content?: { id?: string } | null; fieldValues?: { nodes: ValueNode[] } } | null;
    }>(ITEM_QUERY, { itemId });
    const n = data.node;
    if (!n?.id || !n.project) return undefined;
    const values = (n.fieldValues?.nodes ?? [])
      .filter((v): v is ValueNode & { field: FieldNode } => v.field !== undefined)
      .map((v) => ({
        fieldId: v.field.id,
        fieldName: v.field.name,
        value: v.text ?? v.name ?? null,
        ...(v.optionId ? { optionId: v.optionId } : {}),
      }));
    return { id: n.id, projectId: n.project.id, contentId: n.content?.id ?? null, values };
  }
}
