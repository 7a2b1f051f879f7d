// The GitHub emulator's GraphQL schema and the documents the server sends, checked against GitHub's published
// schema (@octokit/graphql-schema): a query that validates on the emulator validates on github.com, and every
// type the emulator declares has GitHub's fields with GitHub's types and arguments.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  buildClientSchema,
  type GraphQLNamedType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  isEnumType,
  parse,
  validate,
} from "graphql";
import { ADD_ITEM_MUTATION, ITEM_QUERY, ITEMS_OF_CONTENT_QUERY, VIEWER_QUERY, setFieldsMutation } from "../../clients/github-board";
import { emulatorSchema } from "../../emulators/github/graphql-schema";

// The package exports only its ESM entry; the introspection file beside it is read directly.
const github = buildClientSchema(
  JSON.parse(readFileSync(path.join(__dirname, "../../node_modules/@octokit/graphql-schema/schema.json"), "utf8")) as never,
);
const emulator = emulatorSchema();

const DOCUMENTS: Record<string, string> = {
  VIEWER_QUERY,
  ITEMS_OF_CONTENT_QUERY,
  ADD_ITEM_MUTATION,
  ITEM_QUERY,
  "setFieldsMutation(1)": setFieldsMutation(1),
  "setFieldsMutation(5)": setFieldsMutation(5),
};

test("every document the board writer sends validates against GitHub's schema and the emulator's", () => {
  for (const [name, doc] of Object.entries(DOCUMENTS)) {
    const ast = parse(doc);
    assert.deepEqual(
      validate(github, ast).map((e) => e.message),
      [],
      `${name} against GitHub's schema`,
    );
    assert.deepEqual(
      validate(emulator, ast).map((e) => e.message),
      [],
      `${name} against the emulator's schema`,
    );
  }
});

function differences(mine: GraphQLNamedType, theirs: GraphQLNamedType | undefined | null): string[] {
  if (!theirs) return [`${mine.name} is not a GitHub type`];
  if (mine.constructor !== theirs.constructor) return [`${mine.name} is a different kind of type on GitHub`];
  const out: string[] = [];
  if (isObjectType(mine) || isInterfaceType(mine)) {
    const gh = (theirs as typeof mine).getFields();
    for (const f of Object.values(mine.getFields())) {
      const g = gh[f.name];
      if (!g) out.push(`${mine.name}.${f.name} is not on GitHub`);
      else {
        if (String(f.type) !== String(g.type)) out.push(`${mine.name}.${f.name}: ${String(f.type)}, GitHub ${String(g.type)}`);
        for (const a of f.args) {
          const ga = g.args.find((x) => x.name === a.name);
          if (!ga || String(ga.type) !== String(a.type))
            out.push(`${mine.name}.${f.name}(${a.name}): ${String(a.type)}, GitHub ${ga ? String(ga.type) : "none"}`);
        }
      }
    }
    for (const i of mine.getInterfaces()) {
      if (!(theirs as typeof mine).getInterfaces().some((x) => x.name === i.name))
        out.push(`${mine.name} implements ${i.name}, GitHub's does not`);
    }
  }
  if (isInputObjectType(mine)) {
    const gh = (theirs as typeof mine).getFields();
    for (const f of Object.values(mine.getFields())) {
      if (!gh[f.name] || String(gh[f.name].type) !== String(f.type)) out.push(`input ${mine.name}.${f.name}: ${String(f.type)}`);
    }
    for (const g of Object.values(gh))
      if (String(g.type).endsWith("!") && !mine.getFields()[g.name]) out.push(`input ${mine.name} lacks GitHub's required ${g.name}`);
  }
  if (isUnionType(mine)) {
    const gh = new Set((theirs as typeof mine).getTypes().map((t) => t.name));
    for (const t of mine.getTypes()) if (!gh.has(t.name)) out.push(`union ${mine.name} member ${t.name} is not GitHub's`);
  }
  if (isEnumType(mine)) {
    const gh = new Set((theirs as typeof mine).getValues().map((v) => v.name));
    for (const v of mine.getValues()) if (!gh.has(v.name)) out.push(`enum ${mine.name} value ${v.name} is not GitHub's`);
  }
  return out;
}

// Parts of GitHub's API newer than the published schema package (updateProjectV2Field and the field types and
// option ids that came with it), which the emulator serves as GitHub documents them now.
const NEWER_THAN_THE_PACKAGE = [
  "enum ProjectV2FieldType value ISSUE_TYPE is not GitHub's",
  "enum ProjectV2FieldType value PARENT_ISSUE is not GitHub's",
  "enum ProjectV2FieldType value SUB_ISSUES_PROGRESS is not GitHub's",
  "enum ProjectV2CustomFieldType value ITERATION is not GitHub's",
  "input ProjectV2SingleSelectFieldOptionInput.id: String",
  "ProjectV2IterationFieldConfigurationInput is not a GitHub type",
  "input CreateProjectV2FieldInput.iterationConfiguration: ProjectV2IterationFieldConfigurationInput",
  "UpdateProjectV2FieldInput is not a GitHub type",
  "UpdateProjectV2FieldPayload is not a GitHub type",
  "Mutation.updateProjectV2Field is not on GitHub",
];

test("every type of the emulator's schema is a subset of GitHub's: its fields, types, arguments, members and values", () => {
  const found = Object.values(emulator.getTypeMap())
    .filter((t) => !t.name.startsWith("__"))
    .flatMap((t) => differences(t, github.getType(t.name)));
  assert.deepEqual(
    found.filter((d) => !NEWER_THAN_THE_PACKAGE.includes(d)),
    [],
  );
  // The items, issues and item mutations the board writer uses are all in the published schema.
  for (const name of ["ProjectV2Item", "Issue", "AddProjectV2ItemByIdInput", "UpdateProjectV2ItemFieldValueInput", "ProjectV2FieldValue"]) {
    assert.ok(emulator.getType(name), `the emulator serves ${name}`);
    assert.deepEqual(differences(emulator.getType(name)!, github.getType(name)), [], name);
  }
});
