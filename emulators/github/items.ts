// Issues (only what a project card needs: a node to add) and project items with their field values.
// GraphQL resolvers call these; they know nothing about GraphQL.
import { EmulatorError } from "./errors";
import { newNodeId } from "./ids";
import { EmulatorState, EmulatorStore, IssueRecord, ItemRecord, ItemValueRecord, ProjectRecord, RepoRecord, timestamp } from "./state";

function unprocessable(message: string): EmulatorError {
  return new EmulatorError(422, message, "UNPROCESSABLE");
}

function unresolvable(id: unknown): EmulatorError {
  return new EmulatorError(404, `Could not resolve to a node with the global id of '${String(id)}'`, "NOT_FOUND");
}

export function issuesOf(repo: RepoRecord): IssueRecord[] {
  return (repo.issues ??= []);
}

export function itemsOf(project: ProjectRecord): ItemRecord[] {
  return (project.items ??= []);
}

export function createIssue(repo: RepoRecord, input: { title?: unknown }): IssueRecord {
  if (typeof input.title !== "string" || input.title.trim() === "") throw unprocessable("title can't be blank");
  const issues = issuesOf(repo);
  const issue: IssueRecord = { number: issues.length + 1, nodeId: newNodeId("Issue"), title: input.title, createdAt: timestamp() };
  issues.push(issue);
  return issue;
}

export function findIssue(state: EmulatorState, nodeId: string): { issue: IssueRecord; repo: RepoRecord } | undefined {
  for (const repo of Object.values(state.repos)) {
    const issue = repo.issues?.find((i) => i.nodeId === nodeId);
    if (issue) return { issue, repo };
  }
  return undefined;
}

export function findItem(state: EmulatorState, nodeId: string): { item: ItemRecord; project: ProjectRecord } | undefined {
  for (const project of Object.values(state.projects)) {
    const item = project.items?.find((i) => i.nodeId === nodeId);
    if (item) return { item, project };
  }
  return undefined;
}

/** Every item showing `contentNodeId`, over all projects (an issue may be on several boards). */
export function itemsOfContent(state: EmulatorState, contentNodeId: string): { item: ItemRecord; project: ProjectRecord }[] {
  return Object.values(state.projects).flatMap((project) =>
    (project.items ?? []).filter((i) => i.contentNodeId === contentNodeId).map((item) => ({ item, project })),
  );
}

function projectOf(state: EmulatorState, id: unknown): ProjectRecord {
  const project = typeof id === "string" ? state.projects[id] : undefined;
  if (!project) throw unresolvable(id);
  return project;
}

export interface AddItemInput {
  projectId: unknown;
  contentId: unknown;
}

/** As on GitHub, adding content that is already on the project answers the item it already has. */
export function addItem(store: EmulatorStore, input: AddItemInput): { item: ItemRecord; project: ProjectRecord } {
  const project = projectOf(store.state, input.projectId);
  const content = typeof input.contentId === "string" ? findIssue(store.state, input.contentId) : undefined;
  if (!content) throw unresolvable(input.contentId);
  const items = itemsOf(project);
  const existing = items.find((i) => i.contentNodeId === content.issue.nodeId);
  if (existing) return { item: existing, project };
  const now = timestamp();
  const item: ItemRecord = {
    nodeId: newNodeId("ProjectV2Item"),
    databaseId: store.nextDatabaseId(),
    contentNodeId: content.issue.nodeId,
    createdAt: now,
    updatedAt: now,
    values: {},
  };
  items.push(item);
  project.updatedAt = now;
  return { item, project };
}

export interface FieldValueInput {
  text?: string | null;
  number?: number | null;
  date?: string | null;
  singleSelectOptionId?: string | null;
  iterationId?: string | null;
}

export interface UpdateItemValueInput {
  projectId: unknown;
  itemId: unknown;
  fieldId: unknown;
  value: FieldValueInput;
}

/** One value of the kind the field takes, as GitHub requires; anything else is refused. */
export function updateItemValue(store: EmulatorStore, input: UpdateItemValueInput): { item: ItemRecord; project: ProjectRecord } {
  const project = projectOf(store.state, input.projectId);
  const item = itemsOf(project).find((i) => i.nodeId === input.itemId);
  if (!item) throw unresolvable(input.itemId);
  const field = project.fields.find((f) => f.nodeId === input.fieldId);
  if (!field) throw unresolvable(input.fieldId);
  const given = Object.entries(input.value ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (given.length !== 1) throw unprocessable("Exactly one value must be given for the field");
  const [kind, raw] = given[0];
  const now = timestamp();
  let value: ItemValueRecord;
  if (field.dataType === "TEXT" && kind === "text") value = { text: String(raw), updatedAt: now };
  else if (field.dataType === "NUMBER" && kind === "number") value = { number: Number(raw), updatedAt: now };
  else if (field.dataType === "DATE" && kind === "date") value = { date: String(raw), updatedAt: now };
  else if (field.dataType === "SINGLE_SELECT" && kind === "singleSelectOptionId") {
    if (!(field.options ?? []).some((o) => o.id === raw)) throw unprocessable(`The single select option Id does not belong to the field`);
    value = { optionId: String(raw), updatedAt: now };
  } else throw unprocessable(`A ${kind} value cannot be set on the ${field.dataType} field ${field.name}`);
  item.values[field.nodeId] = value;
  item.updatedAt = now;
  project.updatedAt = now;
  return { item, project };
}
