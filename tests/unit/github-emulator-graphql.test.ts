// The GitHub emulator's GraphQL side (projects v2), driven through @octokit/graphql as the project
// board component drives GitHub.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { GraphqlResponseError, graphql } from "@octokit/graphql";
import { startGitHubEmulator } from "../../emulators/github/server";

const TOKEN = "emulator-graphql-token";

type Gql = typeof graphql;

interface Field {
  id: string;
  name: string;
  dataType: string;
  options?: { id: string; name: string; color?: string; description?: string }[];
}

const PROJECT_FIELDS = `
  id number title url closed
  owner { ... on Organization { id login } ... on User { id login } }
  fields(first: 50) {
    totalCount
    nodes {
      ... on ProjectV2Field { id name dataType }
      ... on ProjectV2SingleSelectField { id name dataType options { id name color description } }
    }
  }
`;

interface Project {
  id: string;
  number: number;
  title: string;
  url: string;
  closed: boolean;
  owner: { id: string; login: string };
  fields: { totalCount: number; nodes: Field[] };
}

async function start(t: TestContext): Promise<{ gql: Gql; orgId: string; repoId: string; url: string }> {
  const emu = await startGitHubEmulator({ port: 0, token: TOKEN });
  t.after(() => emu.close());
  for (const [owner, name, owner_type] of [
    ["acme", "widgets", "Organization"],
    ["acme", "gadgets", "Organization"],
    ["mesh-six-bot", "sandbox", "User"],
  ]) {
    const res = await fetch(`${emu.url}/_emulator/repos`, {
      method: "POST",
      headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ owner, name, owner_type }),
    });
    assert.equal(res.status, 201);
  }
  const gql = graphql.defaults({ baseUrl: emu.url, headers: { authorization: `token ${TOKEN}` } });
  const ids = await gql<{ organization: { id: string }; repository: { id: string } }>(
    `{ organization(login: "acme") { id } repository(owner: "acme", name: "widgets") { id } }`,
  );
  return { gql, orgId: ids.organization.id, repoId: ids.repository.id, url: emu.url };
}

async function createProject(gql: Gql, ownerId: string, title: string): Promise<Project> {
  const res = await gql<{ createProjectV2: { projectV2: Project; clientMutationId: string } }>(
    `mutation($input: CreateProjectV2Input!) { createProjectV2(input: $input) { clientMutationId projectV2 { ${PROJECT_FIELDS} } } }`,
    { input: { ownerId, title, clientMutationId: "c-1" } },
  );
  assert.equal(res.createProjectV2.clientMutationId, "c-1");
  return res.createProjectV2.projectV2;
}

async function graphqlErrorsOf(
  call: Promise<unknown>,
): Promise<{ errors: { type?: string; message: string; path?: unknown[] }[]; data: unknown }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof GraphqlResponseError, `expected a GraphQL error response, got ${String(err)}`);
    return { errors: err.errors as never, data: err.data };
  }
  assert.fail("expected the query to answer with errors");
}

const CREATE_FIELD = `mutation($input: CreateProjectV2FieldInput!) {
  createProjectV2Field(input: $input) {
    projectV2Field {
      ... on ProjectV2Field { id name dataType }
      ... on ProjectV2SingleSelectField { id name dataType options { id name color description } }
    }
  }
}`;

test("viewer is the mesh-six-bot user", async (t) => {
  const { gql } = await start(t);
  const { viewer } = await gql<{ viewer: { login: string; id: string } }>(`{ viewer { login id } }`);
  assert.equal(viewer.login, "mesh-six-bot");
  assert.match(viewer.id, /^U_/);
});

test("a repository's node id and owner match what the REST API reports", async (t) => {
  const { gql, url, orgId } = await start(t);
  const { repository } = await gql<{ repository: { id: string; name: string; owner: { id: string; login: string } } }>(
    `{ repository(owner: "acme", name: "widgets") { id name owner { id login } } }`,
  );
  const rest = (await (await fetch(`${url}/repos/acme/widgets`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
    node_id: string;
    owner: { node_id: string };
  };
  assert.equal(repository.id, rest.node_id);
  assert.match(repository.id, /^R_/);
  assert.equal(repository.owner.id, rest.owner.node_id);
  assert.equal(repository.owner.id, orgId);
  assert.match(orgId, /^O_/);
  assert.equal(repository.owner.login, "acme");
});

test("an unknown repository, organization or user resolves to null with a NOT_FOUND error", async (t) => {
  const { gql } = await start(t);
  const repo = await graphqlErrorsOf(gql(`{ repository(owner: "acme", name: "nope") { id } }`));
  assert.deepEqual(repo.data, { repository: null });
  assert.equal(repo.errors[0].type, "NOT_FOUND");
  assert.deepEqual(repo.errors[0].path, ["repository"]);
  // acme is an organization, not a user.
  const user = await graphqlErrorsOf(gql(`{ user(login: "acme") { id } }`));
  assert.equal(user.errors[0].type, "NOT_FOUND");
  const org = await graphqlErrorsOf(gql(`{ organization(login: "ghost") { id } }`));
  assert.equal(org.errors[0].type, "NOT_FOUND");
});

test("a new project starts with GitHub's default fields, Status offering Todo, In Progress and Done", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "mesh-six: acme/widgets");
  assert.match(project.id, /^PVT_/);
  assert.equal(project.number, 1);
  assert.equal(project.title, "mesh-six: acme/widgets");
  assert.equal(project.url, "https://github.com/orgs/acme/projects/1");
  assert.equal(project.closed, false);
  assert.deepEqual(project.owner, { id: orgId, login: "acme" });
  const byName = new Map(project.fields.nodes.map((f) => [f.name, f]));
  assert.equal(byName.get("Title")?.dataType, "TITLE");
  const status = byName.get("Status");
  assert.equal(status?.dataType, "SINGLE_SELECT");
  assert.match(status?.id ?? "", /^PVTSSF_/);
  assert.deepEqual(
    status?.options?.map((o) => o.name),
    ["Todo", "In Progress", "Done"],
  );
  assert.equal(new Set(status?.options?.map((o) => o.id)).size, 3);
  // Numbers count per owner and are never reused.
  assert.equal((await createProject(gql, orgId, "second")).number, 2);
});

test("text and single-select fields can be created and are listed on the project", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "board");
  const text = await gql<{ createProjectV2Field: { projectV2Field: Field } }>(CREATE_FIELD, {
    input: { projectId: project.id, dataType: "TEXT", name: "Agent" },
  });
  assert.equal(text.createProjectV2Field.projectV2Field.name, "Agent");
  assert.equal(text.createProjectV2Field.projectV2Field.dataType, "TEXT");
  assert.match(text.createProjectV2Field.projectV2Field.id, /^PVTF_/);

  const phase = await gql<{ createProjectV2Field: { projectV2Field: Field } }>(CREATE_FIELD, {
    input: {
      projectId: project.id,
      dataType: "SINGLE_SELECT",
      name: "Phase",
      singleSelectOptions: [
        { name: "INTAKE", color: "GRAY", description: "new" },
        { name: "QA", color: "BLUE", description: "" },
      ],
    },
  });
  const field = phase.createProjectV2Field.projectV2Field;
  assert.match(field.id, /^PVTSSF_/);
  assert.deepEqual(
    field.options?.map((o) => [o.name, o.color, o.description]),
    [
      ["INTAKE", "GRAY", "new"],
      ["QA", "BLUE", ""],
    ],
  );

  const { node } = await gql<{ node: Project }>(`query($id: ID!) { node(id: $id) { ... on ProjectV2 { ${PROJECT_FIELDS} } } }`, {
    id: project.id,
  });
  const names = node.fields.nodes.map((f) => f.name);
  assert.ok(names.includes("Agent") && names.includes("Phase"), names.join(", "));
  assert.equal(node.fields.totalCount, project.fields.totalCount + 2);
});

test("a field whose name is taken is refused with a GraphQL error", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "board");
  await gql(CREATE_FIELD, { input: { projectId: project.id, dataType: "TEXT", name: "Agent" } });
  for (const name of ["Agent", "status"]) {
    const { errors, data } = await graphqlErrorsOf(gql(CREATE_FIELD, { input: { projectId: project.id, dataType: "TEXT", name } }));
    assert.equal(errors[0].type, "UNPROCESSABLE");
    assert.match(errors[0].message, /already been taken/);
    assert.deepEqual(errors[0].path, ["createProjectV2Field"]);
    assert.deepEqual(data, { createProjectV2Field: null });
  }
  const single = await graphqlErrorsOf(gql(CREATE_FIELD, { input: { projectId: project.id, dataType: "SINGLE_SELECT", name: "Empty" } }));
  assert.match(single.errors[0].message, /At least one option/);
});

test("updating Status replaces its options, keeping the id of every option whose name survives", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "board");
  const status = project.fields.nodes.find((f) => f.name === "Status");
  assert.ok(status?.options);
  const oldIds = new Map(status.options.map((o) => [o.name, o.id]));
  const res = await gql<{ updateProjectV2Field: { projectV2Field: Field } }>(
    `mutation($input: UpdateProjectV2FieldInput!) {
      updateProjectV2Field(input: $input) {
        projectV2Field { ... on ProjectV2SingleSelectField { id name options { id name color description } } }
      }
    }`,
    {
      input: {
        fieldId: status.id,
        singleSelectOptions: [
          { name: "Todo", color: "GRAY", description: "queued" },
          { name: "QA", color: "ORANGE", description: "" },
          { name: "Done", color: "GREEN", description: "" },
        ],
      },
    },
  );
  const options = res.updateProjectV2Field.projectV2Field.options ?? [];
  assert.deepEqual(
    options.map((o) => o.name),
    ["Todo", "QA", "Done"],
  );
  assert.equal(options[0].id, oldIds.get("Todo"));
  assert.equal(options[2].id, oldIds.get("Done"));
  assert.ok(![...oldIds.values()].includes(options[1].id), "a new option gets a new id");
  assert.equal(options[0].description, "queued");
  assert.equal(options[0].color, "GRAY");

  const renamed = await gql<{ updateProjectV2Field: { projectV2Field: Field } }>(
    `mutation($id: ID!) { updateProjectV2Field(input: { fieldId: $id, name: "Stage" }) { projectV2Field { ... on ProjectV2SingleSelectField { name options { id } } } } }`,
    { id: status.id },
  );
  assert.equal(renamed.updateProjectV2Field.projectV2Field.name, "Stage");
  assert.equal(renamed.updateProjectV2Field.projectV2Field.options?.length, 3);
});

test("projects are listed per owner and filtered by the query string; projectV2(number) finds one", async (t) => {
  const { gql, orgId } = await start(t);
  const { viewer } = await gql<{ viewer: { id: string } }>(`{ viewer { id } }`);
  await createProject(gql, orgId, "mesh-six: acme/widgets");
  await createProject(gql, orgId, "mesh-six: acme/gadgets");
  await createProject(gql, orgId, "Roadmap");
  await createProject(gql, viewer.id, "mesh-six: mesh-six-bot/sandbox");

  type List = { nodes: { title: string; number: number }[]; totalCount: number };
  const org = await gql<{ organization: { all: List; widgets: List; mesh: List } }>(`{
    organization(login: "acme") {
      all: projectsV2(first: 10) { totalCount nodes { title number } }
      widgets: projectsV2(first: 10, query: "acme/WIDGETS") { totalCount nodes { title number } }
      mesh: projectsV2(first: 10, query: "mesh-six") { totalCount nodes { title number } }
    }
  }`);
  assert.equal(org.organization.all.totalCount, 3);
  // GitHub lists the newest project first.
  assert.deepEqual(
    org.organization.all.nodes.map((p) => p.number),
    [3, 2, 1],
  );
  assert.deepEqual(
    org.organization.widgets.nodes.map((p) => p.title),
    ["mesh-six: acme/widgets"],
  );
  assert.equal(org.organization.mesh.totalCount, 2);

  const user = await gql<{ user: { projectsV2: List; projectV2: { title: string } } }>(`{
    user(login: "mesh-six-bot") { projectsV2(first: 5, query: "mesh-six") { totalCount nodes { title number } } projectV2(number: 1) { title } }
  }`);
  assert.deepEqual(
    user.user.projectsV2.nodes.map((p) => p.title),
    ["mesh-six: mesh-six-bot/sandbox"],
  );
  assert.equal(user.user.projectV2.title, "mesh-six: mesh-six-bot/sandbox");

  const missing = await graphqlErrorsOf(gql(`{ organization(login: "acme") { projectV2(number: 99) { id } } }`));
  assert.equal(missing.errors[0].type, "NOT_FOUND");
  assert.deepEqual(missing.errors[0].path, ["organization", "projectV2"]);
});

test("connections must be paged with first or last, at most 100, as on GitHub", async (t) => {
  const { gql } = await start(t);
  const none = await graphqlErrorsOf(gql(`{ organization(login: "acme") { projectsV2 { totalCount } } }`));
  assert.match(none.errors[0].message, /must provide a `first` or `last` value/);
  const many = await graphqlErrorsOf(gql(`{ organization(login: "acme") { projectsV2(first: 101) { totalCount } } }`));
  assert.match(many.errors[0].message, /exceeds the `first` limit of 100/);
});

test("pages follow each other through endCursor", async (t) => {
  const { gql, orgId } = await start(t);
  for (const title of ["a", "b", "c"]) await createProject(gql, orgId, title);
  type Page = { organization: { projectsV2: { nodes: { number: number }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } };
  const q = `query($after: String) { organization(login: "acme") { projectsV2(first: 2, after: $after) { nodes { number } pageInfo { hasNextPage endCursor } } } }`;
  const p1 = await gql<Page>(q, { after: null });
  assert.deepEqual(
    p1.organization.projectsV2.nodes.map((n) => n.number),
    [3, 2],
  );
  assert.equal(p1.organization.projectsV2.pageInfo.hasNextPage, true);
  const p2 = await gql<Page>(q, { after: p1.organization.projectsV2.pageInfo.endCursor });
  assert.deepEqual(
    p2.organization.projectsV2.nodes.map((n) => n.number),
    [1],
  );
  assert.equal(p2.organization.projectsV2.pageInfo.hasNextPage, false);
});

test("a project can be renamed and closed", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "old");
  const res = await gql<{ updateProjectV2: { projectV2: { title: string; closed: boolean } } }>(
    `mutation($id: ID!) { updateProjectV2(input: { projectId: $id, title: "new", closed: true }) { projectV2 { title closed } } }`,
    { id: project.id },
  );
  assert.deepEqual(res.updateProjectV2.projectV2, { title: "new", closed: true });
  const open = await gql<{ organization: { projectsV2: { totalCount: number } } }>(
    `{ organization(login: "acme") { projectsV2(first: 5, query: "is:open") { totalCount } } }`,
  );
  assert.equal(open.organization.projectsV2.totalCount, 0);
});

test("a custom field can be deleted but a built-in one cannot", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "board");
  const created = await gql<{ createProjectV2Field: { projectV2Field: Field } }>(CREATE_FIELD, {
    input: { projectId: project.id, dataType: "NUMBER", name: "Points" },
  });
  const del = `mutation($id: ID!) { deleteProjectV2Field(input: { fieldId: $id }) { projectV2Field { ... on ProjectV2Field { id name } } } }`;
  const deleted = await gql<{ deleteProjectV2Field: { projectV2Field: Field } }>(del, {
    id: created.createProjectV2Field.projectV2Field.id,
  });
  assert.equal(deleted.deleteProjectV2Field.projectV2Field.name, "Points");
  const gone = await graphqlErrorsOf(gql(del, { id: created.createProjectV2Field.projectV2Field.id }));
  assert.equal(gone.errors[0].type, "NOT_FOUND");
  const title = project.fields.nodes.find((f) => f.name === "Title");
  const builtIn = await graphqlErrorsOf(gql(del, { id: title?.id }));
  assert.equal(builtIn.errors[0].type, "UNPROCESSABLE");
});

test("a project is linked to a repository of the same owner", async (t) => {
  const { gql, orgId, repoId } = await start(t);
  const project = await createProject(gql, orgId, "board");
  const res = await gql<{ linkProjectV2ToRepository: { repository: { id: string } } }>(
    `mutation($p: ID!, $r: ID!) { linkProjectV2ToRepository(input: { projectId: $p, repositoryId: $r }) { repository { id } } }`,
    { p: project.id, r: repoId },
  );
  assert.equal(res.linkProjectV2ToRepository.repository.id, repoId);
  const { repository } = await gql<{ repository: { projectsV2: { nodes: { id: string }[] } } }>(
    `{ repository(owner: "acme", name: "widgets") { projectsV2(first: 5) { nodes { id } } } }`,
  );
  assert.deepEqual(
    repository.projectsV2.nodes.map((p) => p.id),
    [project.id],
  );
  const { repository: other } = await gql<{ repository: { id: string } }>(`{ repository(owner: "mesh-six-bot", name: "sandbox") { id } }`);
  const foreign = await graphqlErrorsOf(
    gql(`mutation($p: ID!, $r: ID!) { linkProjectV2ToRepository(input: { projectId: $p, repositoryId: $r }) { repository { id } } }`, {
      p: project.id,
      r: other.id,
    }),
  );
  assert.equal(foreign.errors[0].type, "UNPROCESSABLE");
});

test("a deleted project no longer resolves", async (t) => {
  const { gql, orgId } = await start(t);
  const project = await createProject(gql, orgId, "board");
  const res = await gql<{ deleteProjectV2: { projectV2: { id: string } } }>(
    `mutation($id: ID!) { deleteProjectV2(input: { projectId: $id }) { projectV2 { id } } }`,
    { id: project.id },
  );
  assert.equal(res.deleteProjectV2.projectV2.id, project.id);
  const { errors, data } = await graphqlErrorsOf(gql(`query($id: ID!) { node(id: $id) { id } }`, { id: project.id }));
  assert.deepEqual(data, { node: null });
  assert.equal(errors[0].type, "NOT_FOUND");
  assert.deepEqual(errors[0].path, ["node"]);
  const list = await gql<{ organization: { projectsV2: { totalCount: number } } }>(
    `{ organization(login: "acme") { projectsV2(first: 5) { totalCount } } }`,
  );
  assert.equal(list.organization.projectsV2.totalCount, 0);
  // The next project does not reuse the number.
  assert.equal((await createProject(gql, orgId, "again")).number, 2);
});

test("a query outside the emulated schema fails validation instead of answering nulls", async (t) => {
  const { gql } = await start(t);
  const { errors } = await graphqlErrorsOf(gql(`{ viewer { login noSuchField } }`));
  assert.match(errors[0].message, /noSuchField/);
});

async function createIssue(url: string, title: string): Promise<{ number: number; node_id: string }> {
  const res = await fetch(`${url}/_emulator/repos/acme/widgets/issues`, {
    method: "POST",
    headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ title }),
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { number: number; node_id: string };
}

const ADD_ITEM = `mutation($p: ID!, $c: ID!) { addProjectV2ItemById(input: { projectId: $p, contentId: $c }) {
  item { id type isArchived project { id } content { ... on Issue { id number title url } } } } }`;
const SET_VALUE = `mutation($p: ID!, $i: ID!, $f: ID!, $v: ProjectV2FieldValue!) {
  updateProjectV2ItemFieldValue(input: { projectId: $p, itemId: $i, fieldId: $f, value: $v }) { projectV2Item { id } } }`;
const ITEM_VALUES = `query($i: ID!) { node(id: $i) { ... on ProjectV2Item { id
  fieldValueByName(name: "Status") { ... on ProjectV2ItemFieldSingleSelectValue { name optionId } }
  fieldValues(first: 20) { totalCount nodes {
    ... on ProjectV2ItemFieldTextValue { text field { ... on ProjectV2FieldCommon { name } } }
    ... on ProjectV2ItemFieldSingleSelectValue { name optionId field { ... on ProjectV2FieldCommon { name } } } } } } } }`;

test("an issue is added to a project once: adding it again answers the item it has, and the issue lists its items", async (t) => {
  const { gql, orgId, url } = await start(t);
  const project = await createProject(gql, orgId, "Board");
  const issue = await createIssue(url, "Make widgets faster");
  assert.match(issue.node_id, /^I_kwDO/);
  type Added = { addProjectV2ItemById: { item: { id: string; type: string; project: { id: string }; content: { number: number } } } };
  const first = await gql<Added>(ADD_ITEM, { p: project.id, c: issue.node_id });
  assert.match(first.addProjectV2ItemById.item.id, /^PVTI_/);
  assert.deepEqual([first.addProjectV2ItemById.item.type, first.addProjectV2ItemById.item.content.number], ["ISSUE", issue.number]);
  const again = await gql<Added>(ADD_ITEM, { p: project.id, c: issue.node_id });
  assert.equal(again.addProjectV2ItemById.item.id, first.addProjectV2ItemById.item.id);
  const listed = await gql<{ node: { projectItems: { totalCount: number; nodes: { id: string; project: { id: string } }[] } } }>(
    `query($id: ID!) { node(id: $id) { ... on Issue { projectItems(first: 10) { totalCount nodes { id project { id } } } } } }`,
    { id: issue.node_id },
  );
  assert.deepEqual(listed.node.projectItems.nodes, [{ id: first.addProjectV2ItemById.item.id, project: { id: project.id } }]);
  const items = await gql<{ node: { items: { totalCount: number } } }>(
    `query($p: ID!) { node(id: $p) { ... on ProjectV2 { items(first: 5) { totalCount } } } }`,
    {
      p: project.id,
    },
  );
  assert.equal(items.node.items.totalCount, 1);
  const { errors } = await graphqlErrorsOf(gql(ADD_ITEM, { p: project.id, c: "I_kwDOnope" }));
  assert.equal(errors[0].type, "NOT_FOUND");
});

test("an item's single-select and text values are set and read back; a value of the wrong kind or option is refused", async (t) => {
  const { gql, orgId, url } = await start(t);
  const project = await createProject(gql, orgId, "Board");
  const status = project.fields.nodes.find((f) => f.name === "Status")!;
  const text = await gql<{ createProjectV2Field: { projectV2Field: Field } }>(CREATE_FIELD, {
    input: { projectId: project.id, dataType: "TEXT", name: "Pod Name" },
  });
  const issue = await createIssue(url, "Card");
  const added = await gql<{ addProjectV2ItemById: { item: { id: string } } }>(ADD_ITEM, { p: project.id, c: issue.node_id });
  const itemId = added.addProjectV2ItemById.item.id;
  const done = status.options!.find((o) => o.name === "Done")!;
  await gql(SET_VALUE, { p: project.id, i: itemId, f: status.id, v: { singleSelectOptionId: done.id } });
  await gql(SET_VALUE, { p: project.id, i: itemId, f: text.createProjectV2Field.projectV2Field.id, v: { text: "agent-0" } });
  type Values = {
    node: {
      fieldValueByName: { name: string; optionId: string };
      fieldValues: { totalCount: number; nodes: { name?: string; text?: string; field: { name: string } }[] };
    };
  };
  const read = await gql<Values>(ITEM_VALUES, { i: itemId });
  assert.deepEqual(read.node.fieldValueByName, { name: "Done", optionId: done.id });
  assert.deepEqual(
    read.node.fieldValues.nodes.map((n) => [n.field.name, n.name ?? n.text]),
    [
      ["Status", "Done"],
      ["Pod Name", "agent-0"],
    ],
  );
  for (const v of [{ singleSelectOptionId: "nope" }, { text: "Done" }, {}]) {
    const { errors } = await graphqlErrorsOf(gql(SET_VALUE, { p: project.id, i: itemId, f: status.id, v }));
    assert.equal(errors[0].type, "UNPROCESSABLE", JSON.stringify(v));
  }
  assert.equal((await gql<Values>(ITEM_VALUES, { i: itemId })).node.fieldValueByName.name, "Done", "a refused change leaves the value");
});
