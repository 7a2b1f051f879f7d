import * as pulumi from "@pulumi/pulumi";
import { PROJECT_BOARD } from "../domain/resource-types";
import { PRIORITIES, STATUS_COLUMNS, TEXT_FIELDS } from "../domain/workflow";
import { requireStringArrays, requireStrings, stateGiven } from "./check";
import { GitHubApiError, githubGraphql } from "./github-api";
import { TypedDynamicResource, dynamicProvider } from "./typed-resource";

export interface ProjectBoardArgs {
  /** The repository's owner, who owns the board too (user or organization). */
  readonly owner: pulumi.Input<string>;
  /** The repository the board is linked to. Changing owner or repo replaces the board. */
  readonly repo: pulumi.Input<string>;
  /** The board's title; a board of the owner with this title is adopted. Changing it renames the board. */
  readonly title: pulumi.Input<string>;
}

interface BoardInputs {
  owner: string;
  repo: string;
  title: string;
  statusColumns: string[];
  priorities: string[];
  textFields: string[];
}

export interface BoardOutputs extends BoardInputs {
  projectId: string;
  projectNumber: number;
  url: string;
  adopted: boolean;
  statusFieldId: string;
  statusOptions: Record<string, string>;
  priorityFieldId: string;
  priorityOptions: Record<string, string>;
  textFieldIds: Record<string, string>;
}

interface FieldNode {
  id: string;
  name: string;
  dataType: string;
  options?: { id: string; name: string }[];
}

interface ProjectNode {
  id: string;
  number: number;
  title: string;
  url: string;
  fields: { nodes: FieldNode[] };
}

const PROJECT_SELECTION = `id number title url fields(first: 50) { nodes {
  ... on ProjectV2Field { id name dataType }
  ... on ProjectV2SingleSelectField { id name dataType options { id name } } } }`;

const FIELD_SELECTION = `... on ProjectV2Field { id name dataType }
  ... on ProjectV2SingleSelectField { id name dataType options { id name } }`;

async function findRepository(owner: string, repo: string) {
  const data = await githubGraphql<{ repository: { id: string; owner: { id: string; login: string } } | null }>(
    "find repository",
    `query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id owner { id login } } }`,
    { owner, name: repo },
  );
  if (!data.repository) throw new Error(`repository ${owner}/${repo} not found on GitHub`);
  return data.repository;
}

async function findProjectByTitle(owner: string, title: string): Promise<ProjectNode | undefined> {
  // The owner may be a user or an organization; ask for both and take whichever exists.
  const query = (kind: string) => `query($login: String!, $title: String!) { ${kind}(login: $login) {
    projectsV2(first: 20, query: $title) { nodes { ${PROJECT_SELECTION} } } } }`;
  for (const kind of ["organization", "user"]) {
    let data: Record<string, { projectsV2: { nodes: ProjectNode[] } } | null>;
    try {
      data = await githubGraphql(`find project of ${kind}`, query(kind), { login: owner, title });
    } catch {
      continue; // GitHub answers NOT_FOUND for the kind the owner is not
    }
    const found = data[kind]?.projectsV2.nodes.find((p) => p.title === title);
    if (found) return found;
  }
  return undefined;
}

async function getProject(projectId: string): Promise<ProjectNode | undefined> {
  try {
    const data = await githubGraphql<{ node: ProjectNode | null }>(
      "read project",
      `query($id: ID!) { node(id: $id) { ... on ProjectV2 { ${PROJECT_SELECTION} } } }`,
      { id: projectId },
    );
    return data.node?.id ? data.node : undefined;
  } catch (err) {
    // GitHub answers a deleted node with a NOT_FOUND error rather than null.
    if (err instanceof GitHubApiError && err.graphqlTypes.includes("NOT_FOUND")) return undefined;
    throw err;
  }
}

async function singleSelect(project: ProjectNode, name: string, wanted: string[]): Promise<FieldNode> {
  const existing = project.fields.nodes.find((f) => f.name === name);
  const options = wanted.map((o) => ({ name: o, color: "GRAY", description: "" }));
  if (!existing) {
    const data = await githubGraphql<{ createProjectV2Field: { projectV2Field: FieldNode } }>(
      `create field ${name}`,
      `mutation($input: CreateProjectV2FieldInput!) { createProjectV2Field(input: $input) { projectV2Field { ${FIELD_SELECTION} } } }`,
      { input: { projectId: project.id, dataType: "SINGLE_SELECT", name, singleSelectOptions: options } },
    );
    return data.createProjectV2Field.projectV2Field;
  }
  const have = (existing.options ?? []).map((o) => o.name);
  if (JSON.stringify(have) === JSON.stringify(wanted)) return existing;
  // Options that keep their name keep their id, so cards already in a column stay there.
  const data = await githubGraphql<{ updateProjectV2Field: { projectV2Field: FieldNode } }>(
    `update field ${name}`,
    `mutation($input: UpdateProjectV2FieldInput!) { updateProjectV2Field(input: $input) { projectV2Field { ${FIELD_SELECTION} } } }`,
    { input: { fieldId: existing.id, singleSelectOptions: options } },
  );
  return data.updateProjectV2Field.projectV2Field;
}

async function textField(project: ProjectNode, name: string): Promise<string> {
  const existing = project.fields.nodes.find((f) => f.name === name);
  if (existing) return existing.id;
  const data = await githubGraphql<{ createProjectV2Field: { projectV2Field: FieldNode } }>(
    `create field ${name}`,
    `mutation($input: CreateProjectV2FieldInput!) { createProjectV2Field(input: $input) { projectV2Field { ${FIELD_SELECTION} } } }`,
    { input: { projectId: project.id, dataType: "TEXT", name } },
  );
  return data.createProjectV2Field.projectV2Field.id;
}

function optionIds(field: FieldNode): Record<string, string> {
  return Object.fromEntries((field.options ?? []).map((o) => [o.name, o.id]));
}

async function ensureFields(project: ProjectNode, inputs: BoardInputs) {
  const status = await singleSelect(project, "Status", inputs.statusColumns);
  const priority = await singleSelect(project, "Priority", inputs.priorities);
  const textFieldIds: Record<string, string> = {};
  for (const name of inputs.textFields) textFieldIds[name] = await textField(project, name);
  return {
    statusFieldId: status.id,
    statusOptions: optionIds(status),
    priorityFieldId: priority.id,
    priorityOptions: optionIds(priority),
    textFieldIds,
  };
}

dynamicProvider<BoardInputs, BoardOutputs>(PROJECT_BOARD, {
  async check(_olds: BoardInputs, news: Partial<BoardInputs>) {
    const failures = [
      ...requireStrings<BoardInputs>(news, ["owner", "repo", "title"]),
      ...requireStringArrays<BoardInputs>(news, ["statusColumns", "priorities", "textFields"]),
    ];
    return { inputs: news as BoardInputs, failures };
  },

  async create(inputs: BoardInputs) {
    const repository = await findRepository(inputs.owner, inputs.repo);
    let project = await findProjectByTitle(inputs.owner, inputs.title);
    const adopted = project !== undefined;
    if (!project) {
      const data = await githubGraphql<{ createProjectV2: { projectV2: ProjectNode } }>(
        "create project",
        `mutation($input: CreateProjectV2Input!) { createProjectV2(input: $input) { projectV2 { ${PROJECT_SELECTION} } } }`,
        { input: { ownerId: repository.owner.id, title: inputs.title, repositoryId: repository.id } },
      );
      project = data.createProjectV2.projectV2;
    }
    const fields = await ensureFields(project, inputs);
    const outs: BoardOutputs = {
      ...inputs,
      projectId: project.id,
      projectNumber: project.number,
      url: project.url,
      adopted,
      ...fields,
    };
    return { id: project.id, outs };
  },

  async diff(_id: string, olds: BoardOutputs, news: BoardInputs) {
    const replaces = (["owner", "repo"] as const).filter((k) => olds[k] !== news[k]);
    const changes =
      replaces.length > 0 ||
      (["title", "statusColumns", "priorities", "textFields"] as const).some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async update(id: string, olds: BoardOutputs, news: BoardInputs) {
    if (olds.title !== news.title) {
      await githubGraphql(
        "rename project",
        `mutation($input: UpdateProjectV2Input!) { updateProjectV2(input: $input) { projectV2 { id } } }`,
        { input: { projectId: id, title: news.title } },
      );
    }
    const project = await getProject(id);
    if (!project) throw new Error(`project ${id} of ${news.owner}/${news.repo} no longer exists; run a refresh`);
    return { outs: { ...olds, ...news, ...(await ensureFields(project, news)) } };
  },

  async read(id: string, state?: BoardOutputs) {
    const props = stateGiven(state);
    const project = await getProject(id);
    if (!project) return { id: "" };
    const field = (name: string) => project.fields.nodes.find((f) => f.name === name);
    const status = field("Status");
    const priority = field("Priority");
    return {
      id,
      props: {
        ...props,
        title: project.title,
        statusOptions: status ? optionIds(status) : {},
        statusColumns: (status?.options ?? []).map((o) => o.name),
        priorityOptions: priority ? optionIds(priority) : {},
        priorities: (priority?.options ?? []).map((o) => o.name),
      },
    };
  },

  async delete(id: string, props: BoardOutputs) {
    if (props.adopted) return; // it was there before us; it stays after us
    if (!(await getProject(id))) return;
    await githubGraphql(
      "delete project",
      `mutation($input: DeleteProjectV2Input!) { deleteProjectV2(input: $input) { projectV2 { id } } }`,
      { input: { projectId: id } },
    );
  },
});

/**
 * The repository's GitHub Projects (v2) board with the fields mesh-six moves cards through: Status (one column per
 * workflow state), Priority, and the Session ID, Pod Name and Workflow ID text fields, all fixed by
 * domain/workflow.ts rather than by arguments. Adopts: a board of the owner with the same title is taken over (its
 * fields completed, options that keep their name keep their id) rather than duplicated, and an adopted board is left
 * in place on destroy. Outputs the board's and its fields' ids; there is nothing secret about a board.
 */
export class ProjectBoard extends TypedDynamicResource {
  declare public readonly projectId: pulumi.Output<string>;
  declare public readonly projectNumber: pulumi.Output<number>;
  declare public readonly url: pulumi.Output<string>;
  declare public readonly adopted: pulumi.Output<boolean>;
  declare public readonly statusFieldId: pulumi.Output<string>;
  declare public readonly statusOptions: pulumi.Output<Record<string, string>>;
  declare public readonly priorityFieldId: pulumi.Output<string>;
  declare public readonly priorityOptions: pulumi.Output<Record<string, string>>;
  declare public readonly textFieldIds: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ProjectBoardArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = [
      "projectId",
      "projectNumber",
      "url",
      "adopted",
      "statusFieldId",
      "statusOptions",
      "priorityFieldId",
      "priorityOptions",
      "textFieldIds",
    ];
    super(
      PROJECT_BOARD,
      name,
      {
        ...args,
        statusColumns: [...STATUS_COLUMNS],
        priorities: [...PRIORITIES],
        textFields: Object.values(TEXT_FIELDS),
        ...Object.fromEntries(outputs.map((o) => [o, undefined])),
      },
      opts,
    );
  }
}
