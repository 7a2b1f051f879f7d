// Projects (v2) and their fields. GraphQL resolvers call these; they know nothing about GraphQL.
import { EmulatorError } from "./errors";
import { NodeKind, newNodeId, newOptionId } from "./ids";
import { findIssue, findItem } from "./items";
import {
  EmulatorState,
  EmulatorStore,
  FieldRecord,
  IssueRecord,
  ItemRecord,
  OptionRecord,
  OwnerRecord,
  ProjectRecord,
  RepoRecord,
  SingleSelectColor,
  timestamp,
} from "./state";

export const OPTION_COLORS: readonly SingleSelectColor[] = ["GRAY", "BLUE", "GREEN", "YELLOW", "ORANGE", "RED", "PINK", "PURPLE"];
/** The types `createProjectV2Field` accepts (GitHub's `ProjectV2CustomFieldType`). */
export const CUSTOM_FIELD_TYPES = ["TEXT", "SINGLE_SELECT", "NUMBER", "DATE", "ITERATION"] as const;

export type AnyNode =
  | { kind: "User" | "Organization"; record: OwnerRecord }
  | { kind: "Repository"; record: RepoRecord }
  | { kind: "ProjectV2"; record: ProjectRecord }
  | { kind: "ProjectV2Field" | "ProjectV2SingleSelectField"; record: FieldRecord; project: ProjectRecord }
  | { kind: "Issue"; record: IssueRecord; repo: RepoRecord }
  | { kind: "ProjectV2Item"; record: ItemRecord; project: ProjectRecord };

function unprocessable(message: string): EmulatorError {
  return new EmulatorError(422, message, "UNPROCESSABLE");
}

function unresolvable(id: string): EmulatorError {
  return new EmulatorError(404, `Could not resolve to a node with the global id of '${id}'`, "NOT_FOUND");
}

export function fieldKind(field: FieldRecord): "ProjectV2Field" | "ProjectV2SingleSelectField" {
  return field.dataType === "SINGLE_SELECT" ? "ProjectV2SingleSelectField" : "ProjectV2Field";
}

export function findNode(state: EmulatorState, id: string): AnyNode | undefined {
  for (const o of Object.values(state.owners)) if (o.nodeId === id) return { kind: o.type, record: o };
  for (const r of Object.values(state.repos)) if (r.nodeId === id) return { kind: "Repository", record: r };
  const project = state.projects[id];
  if (project) return { kind: "ProjectV2", record: project };
  for (const p of Object.values(state.projects)) {
    const f = p.fields.find((x) => x.nodeId === id);
    if (f) return { kind: fieldKind(f), record: f, project: p };
  }
  const issue = findIssue(state, id);
  if (issue) return { kind: "Issue", record: issue.issue, repo: issue.repo };
  const item = findItem(state, id);
  if (item) return { kind: "ProjectV2Item", record: item.item, project: item.project };
  return undefined;
}

function nodeOfKind<K extends AnyNode["kind"]>(state: EmulatorState, id: unknown, kinds: K[]): Extract<AnyNode, { kind: K }> {
  const node = typeof id === "string" ? findNode(state, id) : undefined;
  if (!node || !kinds.includes(node.kind as K)) throw unresolvable(String(id));
  return node as Extract<AnyNode, { kind: K }>;
}

export function ownerOfNodeId(state: EmulatorState, nodeId: string): OwnerRecord {
  const owner = Object.values(state.owners).find((o) => o.nodeId === nodeId);
  if (!owner) throw new Error(`dangling owner node id ${nodeId}`);
  return owner;
}

export function repoOfNodeId(state: EmulatorState, nodeId: string): RepoRecord | undefined {
  return Object.values(state.repos).find((r) => r.nodeId === nodeId);
}

function requireText(v: unknown, what: string): string {
  if (typeof v !== "string" || v.trim() === "") throw unprocessable(`${what} can't be blank`);
  return v;
}

export interface OptionInput {
  id?: string | null;
  name: string;
  color: SingleSelectColor;
  description: string;
}

/**
 * Builds an option list that replaces `previous`. An option keeps its id when the input names that
 * id, or else when its name matches an old option: items already set to it keep their value.
 */
function buildOptions(inputs: OptionInput[], previous: OptionRecord[] = []): OptionRecord[] {
  const seen = new Set<string>();
  const claimed = new Set<string>();
  return inputs.map((o) => {
    const name = requireText(o.name, "Option name");
    if (seen.has(name.toLowerCase())) throw unprocessable(`Options must have unique names: ${name} appears twice`);
    seen.add(name.toLowerCase());
    if (!OPTION_COLORS.includes(o.color)) throw unprocessable(`Option color ${String(o.color)} is not valid`);
    const keep = previous.find((p) => !claimed.has(p.id) && (o.id ? p.id === o.id : p.name === name));
    if (o.id && !keep) throw unprocessable(`Option id ${o.id} does not belong to this field`);
    const id = keep?.id ?? newOptionId();
    claimed.add(id);
    return { id, name, color: o.color, description: o.description ?? "" };
  });
}

function newField(store: EmulatorStore, name: string, dataType: string, options?: OptionRecord[]): FieldRecord {
  const now = timestamp();
  const kind: NodeKind = dataType === "SINGLE_SELECT" ? "ProjectV2SingleSelectField" : "ProjectV2Field";
  return {
    nodeId: newNodeId(kind),
    databaseId: store.nextDatabaseId(),
    name,
    dataType,
    ...(options ? { options } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

/** The fields GitHub puts on every new project, in GitHub's order. */
function defaultFields(store: EmulatorStore): FieldRecord[] {
  const status = buildOptions([
    { name: "Todo", color: "GREEN", description: "This item hasn't been started" },
    { name: "In Progress", color: "YELLOW", description: "This is actively being worked on" },
    { name: "Done", color: "PURPLE", description: "This has been completed" },
  ]);
  return [
    newField(store, "Title", "TITLE"),
    newField(store, "Assignees", "ASSIGNEES"),
    newField(store, "Status", "SINGLE_SELECT", status),
    newField(store, "Labels", "LABELS"),
    newField(store, "Linked pull requests", "LINKED_PULL_REQUESTS"),
    newField(store, "Milestone", "MILESTONE"),
    newField(store, "Repository", "REPOSITORY"),
    newField(store, "Reviewers", "REVIEWERS"),
    newField(store, "Parent issue", "PARENT_ISSUE"),
    newField(store, "Sub-issues progress", "SUB_ISSUES_PROGRESS"),
  ];
}

function link(state: EmulatorState, project: ProjectRecord, repositoryId: unknown): RepoRecord {
  const repo = nodeOfKind(state, repositoryId, ["Repository"]).record;
  const owner = ownerOfNodeId(state, project.ownerNodeId);
  if (repo.owner.toLowerCase() !== owner.login.toLowerCase()) {
    throw unprocessable("A project can only be linked to repositories owned by the project's owner");
  }
  if (!project.repositoryNodeIds.includes(repo.nodeId)) project.repositoryNodeIds.push(repo.nodeId);
  return repo;
}

function touch(project: ProjectRecord): void {
  project.updatedAt = timestamp();
}

export interface CreateProjectInput {
  ownerId: unknown;
  title: unknown;
  repositoryId?: unknown;
}

export interface ProjectIdInput {
  projectId: unknown;
}

export interface LinkInput {
  projectId: unknown;
  repositoryId: unknown;
}

export function createProject(store: EmulatorStore, input: CreateProjectInput): ProjectRecord {
  const state = store.state;
  const owner = nodeOfKind(state, input.ownerId, ["User", "Organization"]).record;
  const title = requireText(input.title, "Title");
  const now = timestamp();
  const project: ProjectRecord = {
    nodeId: newNodeId("ProjectV2"),
    databaseId: store.nextDatabaseId(),
    number: owner.nextProjectNumber++,
    ownerNodeId: owner.nodeId,
    title,
    closed: false,
    public: false,
    shortDescription: null,
    readme: null,
    createdAt: now,
    updatedAt: now,
    repositoryNodeIds: [],
    fields: defaultFields(store),
  };
  state.projects[project.nodeId] = project;
  if (input.repositoryId != null) link(state, project, input.repositoryId);
  return project;
}

export interface UpdateProjectInput {
  projectId: unknown;
  title?: unknown;
  closed?: unknown;
  public?: unknown;
  shortDescription?: unknown;
  readme?: unknown;
}

export function updateProject(store: EmulatorStore, input: UpdateProjectInput): ProjectRecord {
  const project = nodeOfKind(store.state, input.projectId, ["ProjectV2"]).record;
  if (input.title != null) project.title = requireText(input.title, "Title");
  if (input.closed != null) project.closed = Boolean(input.closed);
  if (input.public != null) project.public = Boolean(input.public);
  if (input.shortDescription !== undefined) project.shortDescription = (input.shortDescription as string | null) ?? null;
  if (input.readme !== undefined) project.readme = (input.readme as string | null) ?? null;
  touch(project);
  return project;
}

export function deleteProject(store: EmulatorStore, input: ProjectIdInput): ProjectRecord {
  const project = nodeOfKind(store.state, input.projectId, ["ProjectV2"]).record;
  delete store.state.projects[project.nodeId];
  return project;
}

function assertFreeName(project: ProjectRecord, name: string, self?: FieldRecord): void {
  if (project.fields.some((f) => f !== self && f.name.toLowerCase() === name.toLowerCase())) {
    throw unprocessable("Name has already been taken");
  }
}

export interface CreateFieldInput {
  projectId: unknown;
  dataType: unknown;
  name: unknown;
  singleSelectOptions?: OptionInput[] | null;
}

export function createField(store: EmulatorStore, input: CreateFieldInput): FieldRecord {
  const project = nodeOfKind(store.state, input.projectId, ["ProjectV2"]).record;
  const name = requireText(input.name, "Name");
  assertFreeName(project, name);
  const dataType = String(input.dataType);
  if (dataType === "ITERATION") throw unprocessable("The GitHub emulator does not implement ITERATION fields");
  let options: OptionRecord[] | undefined;
  if (dataType === "SINGLE_SELECT") {
    if (!input.singleSelectOptions?.length) throw unprocessable("At least one option is required for a single select field");
    options = buildOptions(input.singleSelectOptions);
  }
  const field = newField(store, name, dataType, options);
  project.fields.push(field);
  touch(project);
  return field;
}

export interface UpdateFieldInput {
  fieldId: unknown;
  name?: unknown;
  singleSelectOptions?: OptionInput[] | null;
}

export function updateField(store: EmulatorStore, input: UpdateFieldInput): FieldRecord {
  const { record: field, project } = nodeOfKind(store.state, input.fieldId, ["ProjectV2Field", "ProjectV2SingleSelectField"]);
  if (input.name != null) {
    const name = requireText(input.name, "Name");
    assertFreeName(project, name, field);
    field.name = name;
  }
  if (input.singleSelectOptions != null) {
    if (field.dataType !== "SINGLE_SELECT") throw unprocessable("Only single select fields have options");
    if (input.singleSelectOptions.length === 0) throw unprocessable("At least one option is required for a single select field");
    field.options = buildOptions(input.singleSelectOptions, field.options);
  }
  field.updatedAt = timestamp();
  touch(project);
  return field;
}

export function deleteField(store: EmulatorStore, input: { fieldId: unknown }): FieldRecord {
  const { record: field, project } = nodeOfKind(store.state, input.fieldId, ["ProjectV2Field", "ProjectV2SingleSelectField"]);
  if (!(CUSTOM_FIELD_TYPES as readonly string[]).includes(field.dataType)) {
    // GitHub's built-in fields (Title, Assignees, Labels, …) can be hidden but not deleted.
    throw unprocessable(`The ${field.name} field cannot be deleted`);
  }
  project.fields = project.fields.filter((f) => f !== field);
  touch(project);
  return field;
}

export function linkToRepository(store: EmulatorStore, input: LinkInput): RepoRecord {
  const project = nodeOfKind(store.state, input.projectId, ["ProjectV2"]).record;
  const repo = link(store.state, project, input.repositoryId);
  touch(project);
  return repo;
}

export function unlinkFromRepository(store: EmulatorStore, input: LinkInput): RepoRecord {
  const project = nodeOfKind(store.state, input.projectId, ["ProjectV2"]).record;
  const repo = nodeOfKind(store.state, input.repositoryId, ["Repository"]).record;
  project.repositoryNodeIds = project.repositoryNodeIds.filter((id) => id !== repo.nodeId);
  touch(project);
  return repo;
}

export interface ProjectListOptions {
  query?: string | null;
  orderBy?: { field: "NUMBER" | "TITLE" | "CREATED_AT" | "UPDATED_AT"; direction: "ASC" | "DESC" } | null;
}

/**
 * GitHub's `query` is a search string; the emulator honours `is:open` / `is:closed` and treats
 * every other word as a case-insensitive substring the title must contain.
 */
export function listProjects(projects: ProjectRecord[], opts: ProjectListOptions): ProjectRecord[] {
  const words = (opts.query ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  const filtered = projects.filter((p) =>
    words.every((w) => (w === "is:open" ? !p.closed : w === "is:closed" ? p.closed : p.title.toLowerCase().includes(w))),
  );
  const order = opts.orderBy ?? { field: "NUMBER", direction: "DESC" };
  const key = (p: ProjectRecord): string | number =>
    order.field === "TITLE"
      ? p.title.toLowerCase()
      : order.field === "CREATED_AT"
        ? p.createdAt
        : order.field === "UPDATED_AT"
          ? p.updatedAt
          : p.number;
  const sign = order.direction === "ASC" ? 1 : -1;
  return filtered.sort((a, b) => (key(a) < key(b) ? -sign : key(a) > key(b) ? sign : a.number - b.number));
}

export function projectsOf(state: EmulatorState, ownerNodeId: string): ProjectRecord[] {
  return Object.values(state.projects).filter((p) => p.ownerNodeId === ownerNodeId);
}
