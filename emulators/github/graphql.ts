// `POST /graphql`: executes queries against the schema in graphql-schema.ts. Resolvers build plain
// view objects over the store (fields taking arguments are methods, which graphql-js's default
// resolver calls), and every failure is reported the way GitHub reports it: HTTP 200 with
// `errors: [{ type, message, path, locations }]` beside whatever `data` could be resolved.
import type { Request, Response } from "express";
import { GraphQLError, graphql } from "graphql";
import { EmulatorError, GraphQLErrorType } from "./errors";
import { emulatorSchema } from "./graphql-schema";
import {
  AnyNode,
  CreateFieldInput,
  CreateProjectInput,
  LinkInput,
  ProjectIdInput,
  ProjectListOptions,
  UpdateFieldInput,
  UpdateProjectInput,
  createField,
  createProject,
  deleteField,
  deleteProject,
  fieldKind,
  findNode,
  linkToRepository,
  listProjects,
  ownerOfNodeId,
  projectsOf,
  repoOfNodeId,
  unlinkFromRepository,
  updateField,
  updateProject,
} from "./projects";
import { AddItemInput, UpdateItemValueInput, addItem, itemsOf, itemsOfContent, updateItemValue } from "./items";
import { HTML_BASE, findOwner, viewer } from "./repos";
import { EmulatorStore, FieldRecord, IssueRecord, ItemRecord, OwnerRecord, ProjectRecord, RepoRecord, repoKey } from "./state";

type View = Record<string, unknown>;

interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

const MAX_PAGE = 100;

function gqlError(type: GraphQLErrorType, message: string): EmulatorError {
  return new EmulatorError(type === "NOT_FOUND" ? 404 : 422, message, type);
}

function cursorOf(index: number): string {
  return Buffer.from(`cursor:${index + 1}`).toString("base64");
}

function indexOfCursor(cursor: string): number {
  const m = /^cursor:(\d+)$/.exec(Buffer.from(cursor, "base64").toString());
  if (!m) throw gqlError("UNPROCESSABLE", `\`${cursor}\` does not appear to be a valid cursor.`);
  return Number(m[1]) - 1;
}

/** GitHub's cursor connections, including its refusal to page without `first` or `last`. */
function connection<T>(name: string, items: T[], args: PageArgs, view: (item: T) => View): View {
  if (args.first == null && args.last == null) {
    throw gqlError(
      "MISSING_PAGINATION_BOUNDARIES",
      `You must provide a \`first\` or \`last\` value to properly paginate the \`${name}\` connection.`,
    );
  }
  for (const [arg, n] of [
    ["first", args.first],
    ["last", args.last],
  ] as const) {
    if (n != null && (n < 0 || n > MAX_PAGE)) {
      throw gqlError(
        "EXCESSIVE_PAGINATION",
        `Requesting ${n} records on the \`${name}\` connection exceeds the \`${arg}\` limit of ${MAX_PAGE} records.`,
      );
    }
  }
  let start = args.after ? indexOfCursor(args.after) + 1 : 0;
  let end = args.before ? indexOfCursor(args.before) : items.length;
  if (args.first != null) end = Math.min(end, start + args.first);
  if (args.last != null) start = Math.max(start, end - args.last);
  const page = items.slice(start, end).map((item, i) => ({ cursor: cursorOf(start + i), node: view(item) }));
  return {
    edges: page,
    nodes: page.map((e) => e.node),
    totalCount: items.length,
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: page[0]?.cursor ?? null,
      endCursor: page[page.length - 1]?.cursor ?? null,
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Builds view objects; they read the store when resolved, so a mutation's payload shows its effect. */
class Views {
  constructor(private readonly store: EmulatorStore) {}

  private get state() {
    return this.store.state;
  }

  owner(o: OwnerRecord): View {
    return {
      __typename: o.type,
      id: o.nodeId,
      databaseId: o.id,
      login: o.login,
      name: null,
      url: `${HTML_BASE}/${o.login}`,
      createdAt: o.createdAt,
      repository: ({ name }: { name: string }) => {
        const repo = this.state.repos[repoKey(o.login, name)];
        return repo ? this.repository(repo) : null;
      },
      projectV2: ({ number }: { number: number }) => this.projectByNumber(projectsOf(this.state, o.nodeId), number),
      projectsV2: (args: PageArgs & ProjectListOptions) =>
        connection("projectsV2", listProjects(projectsOf(this.state, o.nodeId), args), args, (p) => this.project(p)),
    };
  }

  private projectByNumber(projects: ProjectRecord[], number: number): View {
    const project = projects.find((p) => p.number === number);
    if (!project) throw gqlError("NOT_FOUND", `Could not resolve to a ProjectV2 with the number ${number}.`);
    return this.project(project);
  }

  repository(r: RepoRecord): View {
    const linked = () => Object.values(this.state.projects).filter((p) => p.repositoryNodeIds.includes(r.nodeId));
    return {
      __typename: "Repository",
      id: r.nodeId,
      databaseId: r.id,
      name: r.name,
      nameWithOwner: `${r.owner}/${r.name}`,
      url: `${HTML_BASE}/${r.owner}/${r.name}`,
      isPrivate: r.private,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      owner: () => {
        const owner = findOwner(this.state, r.owner);
        if (!owner) throw new Error(`repository ${r.owner}/${r.name} has no owner`);
        return this.owner(owner);
      },
      projectV2: ({ number }: { number: number }) => this.projectByNumber(linked(), number),
      projectsV2: (args: PageArgs & ProjectListOptions) =>
        connection("projectsV2", listProjects(linked(), args), args, (p) => this.project(p)),
    };
  }

  project(p: ProjectRecord): View {
    return {
      __typename: "ProjectV2",
      id: p.nodeId,
      databaseId: p.databaseId,
      number: p.number,
      title: p.title,
      closed: p.closed,
      closedAt: p.closed ? p.updatedAt : null,
      public: p.public,
      shortDescription: p.shortDescription,
      readme: p.readme,
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
      url: () => {
        const owner = ownerOfNodeId(this.state, p.ownerNodeId);
        return `${HTML_BASE}/${owner.type === "Organization" ? "orgs" : "users"}/${owner.login}/projects/${p.number}`;
      },
      owner: () => this.owner(ownerOfNodeId(this.state, p.ownerNodeId)),
      field: ({ name }: { name: string }) => {
        const field = p.fields.find((f) => f.name === name);
        return field ? this.field(field, p) : null;
      },
      fields: (args: PageArgs & { orderBy?: { field: string; direction: string } }) => {
        const fields = [...p.fields];
        const by = args.orderBy?.field ?? "POSITION";
        if (by === "NAME") fields.sort((a, b) => a.name.localeCompare(b.name));
        if (by === "CREATED_AT") fields.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        if (args.orderBy?.direction === "DESC") fields.reverse();
        return connection("fields", fields, args, (f) => this.field(f, p));
      },
      repositories: (args: PageArgs) => {
        const repos = p.repositoryNodeIds.map((id) => repoOfNodeId(this.state, id)).filter((r): r is RepoRecord => r !== undefined);
        return connection("repositories", repos, args, (r) => this.repository(r));
      },
      items: (args: PageArgs) => connection("items", itemsOf(p), args, (i) => this.item(i, p)),
    };
  }

  issue(i: IssueRecord, r: RepoRecord): View {
    return {
      __typename: "Issue",
      id: i.nodeId,
      databaseId: null,
      number: i.number,
      title: i.title,
      url: `${HTML_BASE}/${r.owner}/${r.name}/issues/${i.number}`,
      createdAt: i.createdAt,
      projectItems: (args: PageArgs) =>
        connection("projectItems", itemsOfContent(this.state, i.nodeId), args, ({ item, project }) => this.item(item, project)),
    };
  }

  item(i: ItemRecord, p: ProjectRecord): View {
    const content = () => {
      for (const repo of Object.values(this.state.repos)) {
        const issue = repo.issues?.find((x) => x.nodeId === i.contentNodeId);
        if (issue) return this.issue(issue, repo);
      }
      return null;
    };
    // Values in the order of the project's fields, as GitHub lists them; values of deleted fields are gone.
    const values = () => p.fields.filter((f) => i.values[f.nodeId]).map((f) => this.fieldValue(i, f, p));
    return {
      __typename: "ProjectV2Item",
      id: i.nodeId,
      databaseId: i.databaseId,
      type: "ISSUE",
      isArchived: false,
      content,
      project: () => this.project(p),
      createdAt: i.createdAt,
      updatedAt: i.updatedAt,
      fieldValueByName: ({ name }: { name: string }) => {
        const field = p.fields.find((f) => f.name === name);
        return field && i.values[field.nodeId] ? this.fieldValue(i, field, p) : null;
      },
      fieldValues: (args: PageArgs) => connection("fieldValues", values(), args, (v) => v),
    };
  }

  private fieldValue(i: ItemRecord, f: FieldRecord, p: ProjectRecord): View {
    const v = i.values[f.nodeId];
    const common = {
      id: `PVTFV_${i.nodeId.slice(5)}_${f.databaseId}`,
      databaseId: null,
      field: () => this.field(f, p),
      item: () => this.item(i, p),
      createdAt: v.updatedAt,
      updatedAt: v.updatedAt,
    };
    if (v.optionId !== undefined) {
      const option = f.options?.find((o) => o.id === v.optionId);
      return {
        __typename: "ProjectV2ItemFieldSingleSelectValue",
        ...common,
        optionId: v.optionId,
        name: option?.name ?? null,
        nameHTML: option ? escapeHtml(option.name) : null,
        color: option?.color ?? "GRAY",
        description: option?.description ?? null,
        descriptionHTML: option ? escapeHtml(option.description) : null,
      };
    }
    if (v.number !== undefined) return { __typename: "ProjectV2ItemFieldNumberValue", ...common, number: v.number };
    if (v.date !== undefined) return { __typename: "ProjectV2ItemFieldDateValue", ...common, date: v.date };
    return { __typename: "ProjectV2ItemFieldTextValue", ...common, text: v.text ?? null };
  }

  field(f: FieldRecord, p: ProjectRecord): View {
    return {
      __typename: fieldKind(f),
      id: f.nodeId,
      databaseId: f.databaseId,
      name: f.name,
      dataType: f.dataType,
      createdAt: f.createdAt,
      updatedAt: f.updatedAt,
      project: () => this.project(p),
      options: ({ names }: { names?: string[] | null }) =>
        (f.options ?? [])
          .filter((o) => !names || names.includes(o.name))
          .map((o) => ({ ...o, nameHTML: escapeHtml(o.name), descriptionHTML: escapeHtml(o.description) })),
    };
  }

  node(n: AnyNode): View {
    switch (n.kind) {
      case "User":
      case "Organization":
        return this.owner(n.record);
      case "Repository":
        return this.repository(n.record);
      case "ProjectV2":
        return this.project(n.record);
      case "Issue":
        return this.issue(n.record, n.repo);
      case "ProjectV2Item":
        return this.item(n.record, n.project);
      default:
        return this.field(n.record, n.project);
    }
  }
}

type Input<T = unknown> = T & { clientMutationId?: string | null };
type Args<T> = { input: Input<T> };

function rootValue(store: EmulatorStore): Record<string, unknown> {
  const views = new Views(store);
  const state = () => store.state;
  const payload = (input: Input, rest: View) => ({ clientMutationId: input.clientMutationId ?? null, ...rest });
  const ownerOfType = (login: string, type: "User" | "Organization", article: string) => {
    const owner = findOwner(state(), login);
    if (!owner || owner.type !== type) throw gqlError("NOT_FOUND", `Could not resolve to ${article} ${type} with the login of '${login}'.`);
    return views.owner(owner);
  };
  const node = (id: string) => {
    const found = findNode(state(), id);
    if (!found) throw gqlError("NOT_FOUND", `Could not resolve to a node with the global id of '${id}'`);
    return views.node(found);
  };
  return {
    viewer: () => views.owner(viewer(state())),
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const repo = state().repos[repoKey(owner, name)];
      if (!repo) throw gqlError("NOT_FOUND", `Could not resolve to a Repository with the name '${owner}/${name}'.`);
      return views.repository(repo);
    },
    repositoryOwner: ({ login }: { login: string }) => {
      const owner = findOwner(state(), login);
      return owner ? views.owner(owner) : null;
    },
    organization: ({ login }: { login: string }) => ownerOfType(login, "Organization", "an"),
    user: ({ login }: { login: string }) => ownerOfType(login, "User", "a"),
    node: ({ id }: { id: string }) => node(id),
    nodes: ({ ids }: { ids: string[] }) => ids.map(node),

    createProjectV2: ({ input }: Args<CreateProjectInput>) =>
      payload(input, { projectV2: views.project(store.mutate(() => createProject(store, input))) }),
    updateProjectV2: ({ input }: Args<UpdateProjectInput>) =>
      payload(input, { projectV2: views.project(store.mutate(() => updateProject(store, input))) }),
    deleteProjectV2: ({ input }: Args<ProjectIdInput>) =>
      payload(input, { projectV2: views.project(store.mutate(() => deleteProject(store, input))) }),
    createProjectV2Field: ({ input }: Args<CreateFieldInput>) =>
      payload(input, { projectV2Field: fieldPayload(store, views, () => createField(store, input)) }),
    updateProjectV2Field: ({ input }: Args<UpdateFieldInput>) =>
      payload(input, { projectV2Field: fieldPayload(store, views, () => updateField(store, input)) }),
    deleteProjectV2Field: ({ input }: Args<{ fieldId: string }>) => {
      // The field's project must be found before the field disappears from it.
      const found = findNode(state(), input.fieldId);
      const project = found && "project" in found ? found.project : undefined;
      const field = store.mutate(() => deleteField(store, input));
      return payload(input, { projectV2Field: project ? views.field(field, project) : null });
    },
    linkProjectV2ToRepository: ({ input }: Args<LinkInput>) =>
      payload(input, { repository: views.repository(store.mutate(() => linkToRepository(store, input))) }),
    unlinkProjectV2FromRepository: ({ input }: Args<LinkInput>) =>
      payload(input, { repository: views.repository(store.mutate(() => unlinkFromRepository(store, input))) }),
    addProjectV2ItemById: ({ input }: Args<AddItemInput>) => {
      const { item, project } = store.mutate(() => addItem(store, input));
      return payload(input, { item: views.item(item, project) });
    },
    updateProjectV2ItemFieldValue: ({ input }: Args<UpdateItemValueInput>) => {
      const { item, project } = store.mutate(() => updateItemValue(store, input));
      return payload(input, { projectV2Item: views.item(item, project) });
    },
  };
}

function fieldPayload(store: EmulatorStore, views: Views, change: () => FieldRecord): View {
  const field = store.mutate(change);
  const found = findNode(store.state, field.nodeId);
  if (!found || !("project" in found)) throw new Error(`field ${field.nodeId} has no project`);
  return views.field(field, found.project);
}

function formatError(err: GraphQLError): Record<string, unknown> {
  const original = err.originalError;
  const type = original instanceof EmulatorError ? original.graphqlType : undefined;
  return {
    ...(type ? { type } : {}),
    ...(err.path ? { path: err.path } : {}),
    ...(err.locations ? { locations: err.locations } : {}),
    message: err.message,
  };
}

export function graphqlHandler(store: EmulatorStore) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = (req.body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
    if (typeof body.query !== "string") {
      res.status(200).json({ errors: [{ message: "A query attribute must be specified and must be a string." }] });
      return;
    }
    const result = await graphql({
      schema: emulatorSchema(),
      source: body.query,
      rootValue: rootValue(store),
      variableValues: (body.variables ?? undefined) as Record<string, unknown> | undefined,
      operationName: typeof body.operationName === "string" ? body.operationName : undefined,
    });
    res.status(200).json({
      ...(result.data !== undefined ? { data: result.data } : {}),
      ...(result.errors ? { errors: result.errors.map(formatError) } : {}),
    });
  };
}
