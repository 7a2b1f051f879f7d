// The subset of GitHub's public GraphQL schema the emulator serves. Names, nullability and argument
// lists follow GitHub's schema so that a query written against github.com validates here unchanged
// (as long as it stays inside this subset); anything outside it fails validation loudly.
import { GraphQLSchema, buildSchema } from "graphql";

const SDL = /* GraphQL */ `
  scalar URI
  scalar DateTime
  scalar Date
  scalar HTML

  interface Node {
    id: ID!
  }

  enum OrderDirection {
    ASC
    DESC
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
  }

  interface RepositoryOwner {
    id: ID!
    login: String!
    url: URI!
    repository(name: String!, followRenames: Boolean = true): Repository
  }

  enum ProjectV2PermissionLevel {
    ADMIN
    READ
    WRITE
  }
  enum ProjectV2OrderField {
    CREATED_AT
    NUMBER
    TITLE
    UPDATED_AT
  }
  input ProjectV2Order {
    field: ProjectV2OrderField!
    direction: OrderDirection!
  }

  interface ProjectV2Owner {
    id: ID!
    projectV2(number: Int!): ProjectV2
    projectsV2(
      after: String
      before: String
      first: Int
      last: Int
      minPermissionLevel: ProjectV2PermissionLevel = READ
      orderBy: ProjectV2Order = { field: NUMBER, direction: DESC }
      query: String
    ): ProjectV2Connection!
  }

  type User implements Node & ProjectV2Owner & RepositoryOwner {
    id: ID!
    databaseId: Int
    login: String!
    name: String
    url: URI!
    createdAt: DateTime!
    repository(name: String!, followRenames: Boolean = true): Repository
    projectV2(number: Int!): ProjectV2
    projectsV2(
      after: String
      before: String
      first: Int
      last: Int
      minPermissionLevel: ProjectV2PermissionLevel = READ
      orderBy: ProjectV2Order = { field: NUMBER, direction: DESC }
      query: String
    ): ProjectV2Connection!
  }

  type Organization implements Node & ProjectV2Owner & RepositoryOwner {
    id: ID!
    databaseId: Int
    login: String!
    name: String
    url: URI!
    createdAt: DateTime!
    repository(name: String!, followRenames: Boolean = true): Repository
    projectV2(number: Int!): ProjectV2
    projectsV2(
      after: String
      before: String
      first: Int
      last: Int
      minPermissionLevel: ProjectV2PermissionLevel = READ
      orderBy: ProjectV2Order = { field: NUMBER, direction: DESC }
      query: String
    ): ProjectV2Connection!
  }

  type Repository implements Node {
    id: ID!
    databaseId: Int
    name: String!
    nameWithOwner: String!
    owner: RepositoryOwner!
    url: URI!
    isPrivate: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
    projectV2(number: Int!): ProjectV2
    projectsV2(
      after: String
      before: String
      first: Int
      last: Int
      minPermissionLevel: ProjectV2PermissionLevel = READ
      orderBy: ProjectV2Order = { field: NUMBER, direction: DESC }
      query: String
    ): ProjectV2Connection!
  }

  type RepositoryEdge {
    cursor: String!
    node: Repository
  }

  type RepositoryConnection {
    edges: [RepositoryEdge]
    nodes: [Repository]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  enum RepositoryOrderField {
    CREATED_AT
    NAME
    PUSHED_AT
    STARGAZERS
    UPDATED_AT
  }
  input RepositoryOrder {
    field: RepositoryOrderField!
    direction: OrderDirection!
  }

  type ProjectV2 implements Node {
    id: ID!
    databaseId: Int
    number: Int!
    title: String!
    url: URI!
    closed: Boolean!
    closedAt: DateTime
    public: Boolean!
    shortDescription: String
    readme: String
    createdAt: DateTime!
    updatedAt: DateTime!
    owner: ProjectV2Owner!
    field(name: String!): ProjectV2FieldConfiguration
    fields(
      after: String
      before: String
      first: Int
      last: Int
      orderBy: ProjectV2FieldOrder = { field: POSITION, direction: ASC }
    ): ProjectV2FieldConfigurationConnection!
    repositories(
      after: String
      before: String
      first: Int
      last: Int
      orderBy: RepositoryOrder = { field: CREATED_AT, direction: DESC }
    ): RepositoryConnection!
    items(
      after: String
      before: String
      first: Int
      last: Int
      orderBy: ProjectV2ItemOrder = { field: POSITION, direction: ASC }
    ): ProjectV2ItemConnection!
  }

  type Issue implements Node {
    id: ID!
    databaseId: Int
    number: Int!
    title: String!
    url: URI!
    createdAt: DateTime!
    projectItems(includeArchived: Boolean = true, after: String, before: String, first: Int, last: Int): ProjectV2ItemConnection!
  }

  enum ProjectV2ItemType {
    ISSUE
    PULL_REQUEST
    DRAFT_ISSUE
    REDACTED
  }

  enum ProjectV2ItemOrderField {
    POSITION
  }
  input ProjectV2ItemOrder {
    field: ProjectV2ItemOrderField!
    direction: OrderDirection!
  }

  enum ProjectV2ItemFieldValueOrderField {
    POSITION
  }
  input ProjectV2ItemFieldValueOrder {
    field: ProjectV2ItemFieldValueOrderField!
    direction: OrderDirection!
  }

  # GitHub's union also has DraftIssue and PullRequest; the emulator only puts issues on boards.
  union ProjectV2ItemContent = Issue

  type ProjectV2Item implements Node {
    id: ID!
    databaseId: Int
    type: ProjectV2ItemType!
    isArchived: Boolean!
    content: ProjectV2ItemContent
    project: ProjectV2!
    createdAt: DateTime!
    updatedAt: DateTime!
    fieldValueByName(name: String!): ProjectV2ItemFieldValue
    fieldValues(
      after: String
      before: String
      first: Int
      last: Int
      orderBy: ProjectV2ItemFieldValueOrder = { field: POSITION, direction: ASC }
    ): ProjectV2ItemFieldValueConnection!
  }

  type ProjectV2ItemEdge {
    cursor: String!
    node: ProjectV2Item
  }

  type ProjectV2ItemConnection {
    edges: [ProjectV2ItemEdge]
    nodes: [ProjectV2Item]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  interface ProjectV2ItemFieldValueCommon {
    id: ID!
    databaseId: Int
    field: ProjectV2FieldConfiguration!
    item: ProjectV2Item!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProjectV2ItemFieldTextValue implements Node & ProjectV2ItemFieldValueCommon {
    id: ID!
    databaseId: Int
    field: ProjectV2FieldConfiguration!
    item: ProjectV2Item!
    text: String
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProjectV2ItemFieldNumberValue implements Node & ProjectV2ItemFieldValueCommon {
    id: ID!
    databaseId: Int
    field: ProjectV2FieldConfiguration!
    item: ProjectV2Item!
    number: Float
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProjectV2ItemFieldDateValue implements Node & ProjectV2ItemFieldValueCommon {
    id: ID!
    databaseId: Int
    field: ProjectV2FieldConfiguration!
    item: ProjectV2Item!
    date: Date
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProjectV2ItemFieldSingleSelectValue implements Node & ProjectV2ItemFieldValueCommon {
    id: ID!
    databaseId: Int
    field: ProjectV2FieldConfiguration!
    item: ProjectV2Item!
    name: String
    nameHTML: String
    optionId: String
    color: ProjectV2SingleSelectFieldOptionColor!
    description: String
    descriptionHTML: String
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  # GitHub's union also has the values of built-in fields (labels, milestone, …), which the emulator does not keep.
  union ProjectV2ItemFieldValue =
    | ProjectV2ItemFieldDateValue
    | ProjectV2ItemFieldNumberValue
    | ProjectV2ItemFieldSingleSelectValue
    | ProjectV2ItemFieldTextValue

  type ProjectV2ItemFieldValueEdge {
    cursor: String!
    node: ProjectV2ItemFieldValue
  }

  type ProjectV2ItemFieldValueConnection {
    edges: [ProjectV2ItemFieldValueEdge]
    nodes: [ProjectV2ItemFieldValue]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type ProjectV2Edge {
    cursor: String!
    node: ProjectV2
  }

  type ProjectV2Connection {
    edges: [ProjectV2Edge]
    nodes: [ProjectV2]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  enum ProjectV2FieldType {
    ASSIGNEES
    DATE
    ISSUE_TYPE
    ITERATION
    LABELS
    LINKED_PULL_REQUESTS
    MILESTONE
    NUMBER
    PARENT_ISSUE
    REPOSITORY
    REVIEWERS
    SINGLE_SELECT
    SUB_ISSUES_PROGRESS
    TEXT
    TITLE
    TRACKED_BY
    TRACKS
  }

  enum ProjectV2CustomFieldType {
    DATE
    ITERATION
    NUMBER
    SINGLE_SELECT
    TEXT
  }

  enum ProjectV2SingleSelectFieldOptionColor {
    BLUE
    GRAY
    GREEN
    ORANGE
    PINK
    PURPLE
    RED
    YELLOW
  }

  enum ProjectV2FieldOrderField {
    CREATED_AT
    NAME
    POSITION
  }
  input ProjectV2FieldOrder {
    field: ProjectV2FieldOrderField!
    direction: OrderDirection!
  }

  interface ProjectV2FieldCommon {
    id: ID!
    databaseId: Int
    name: String!
    dataType: ProjectV2FieldType!
    project: ProjectV2!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProjectV2Field implements Node & ProjectV2FieldCommon {
    id: ID!
    databaseId: Int
    name: String!
    dataType: ProjectV2FieldType!
    project: ProjectV2!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProjectV2SingleSelectFieldOption {
    id: String!
    name: String!
    nameHTML: String!
    color: ProjectV2SingleSelectFieldOptionColor!
    description: String!
    descriptionHTML: String!
  }

  type ProjectV2SingleSelectField implements Node & ProjectV2FieldCommon {
    id: ID!
    databaseId: Int
    name: String!
    dataType: ProjectV2FieldType!
    project: ProjectV2!
    createdAt: DateTime!
    updatedAt: DateTime!
    options(names: [String!]): [ProjectV2SingleSelectFieldOption!]!
  }

  # Declared so that queries with "... on ProjectV2IterationField" validate; the emulator never
  # creates one.
  type ProjectV2IterationFieldIteration {
    id: String!
    title: String!
    titleHTML: String!
    startDate: Date!
    duration: Int!
  }

  type ProjectV2IterationFieldConfiguration {
    duration: Int!
    startDay: Int!
    iterations: [ProjectV2IterationFieldIteration!]!
    completedIterations: [ProjectV2IterationFieldIteration!]!
  }

  type ProjectV2IterationField implements Node & ProjectV2FieldCommon {
    id: ID!
    databaseId: Int
    name: String!
    dataType: ProjectV2FieldType!
    project: ProjectV2!
    createdAt: DateTime!
    updatedAt: DateTime!
    configuration: ProjectV2IterationFieldConfiguration!
  }

  union ProjectV2FieldConfiguration = ProjectV2Field | ProjectV2IterationField | ProjectV2SingleSelectField

  type ProjectV2FieldConfigurationEdge {
    cursor: String!
    node: ProjectV2FieldConfiguration
  }

  type ProjectV2FieldConfigurationConnection {
    edges: [ProjectV2FieldConfigurationEdge]
    nodes: [ProjectV2FieldConfiguration]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type Query {
    viewer: User!
    repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
    repositoryOwner(login: String!): RepositoryOwner
    organization(login: String!): Organization
    user(login: String!): User
    node(id: ID!): Node
    nodes(ids: [ID!]!): [Node]!
  }

  input CreateProjectV2Input {
    clientMutationId: String
    ownerId: ID!
    title: String!
    repositoryId: ID
    teamId: ID
  }

  type CreateProjectV2Payload {
    clientMutationId: String
    projectV2: ProjectV2
  }

  input UpdateProjectV2Input {
    clientMutationId: String
    projectId: ID!
    title: String
    closed: Boolean
    public: Boolean
    shortDescription: String
    readme: String
  }

  type UpdateProjectV2Payload {
    clientMutationId: String
    projectV2: ProjectV2
  }

  input DeleteProjectV2Input {
    clientMutationId: String
    projectId: ID!
  }

  type DeleteProjectV2Payload {
    clientMutationId: String
    projectV2: ProjectV2
  }

  input ProjectV2SingleSelectFieldOptionInput {
    id: String
    name: String!
    color: ProjectV2SingleSelectFieldOptionColor!
    description: String!
  }

  input ProjectV2IterationFieldConfigurationInput {
    duration: Int!
    startDate: Date!
  }

  input CreateProjectV2FieldInput {
    clientMutationId: String
    projectId: ID!
    dataType: ProjectV2CustomFieldType!
    name: String!
    singleSelectOptions: [ProjectV2SingleSelectFieldOptionInput!]
    iterationConfiguration: ProjectV2IterationFieldConfigurationInput
  }

  type CreateProjectV2FieldPayload {
    clientMutationId: String
    projectV2Field: ProjectV2FieldConfiguration
  }

  input UpdateProjectV2FieldInput {
    clientMutationId: String
    fieldId: ID!
    name: String
    singleSelectOptions: [ProjectV2SingleSelectFieldOptionInput!]
    iterationConfiguration: ProjectV2IterationFieldConfigurationInput
  }

  type UpdateProjectV2FieldPayload {
    clientMutationId: String
    projectV2Field: ProjectV2FieldConfiguration
  }

  input DeleteProjectV2FieldInput {
    clientMutationId: String
    fieldId: ID!
  }

  type DeleteProjectV2FieldPayload {
    clientMutationId: String
    projectV2Field: ProjectV2FieldConfiguration
  }

  input LinkProjectV2ToRepositoryInput {
    clientMutationId: String
    projectId: ID!
    repositoryId: ID!
  }

  type LinkProjectV2ToRepositoryPayload {
    clientMutationId: String
    repository: Repository
  }

  input UnlinkProjectV2FromRepositoryInput {
    clientMutationId: String
    projectId: ID!
    repositoryId: ID!
  }

  type UnlinkProjectV2FromRepositoryPayload {
    clientMutationId: String
    repository: Repository
  }

  input AddProjectV2ItemByIdInput {
    clientMutationId: String
    projectId: ID!
    contentId: ID!
  }

  type AddProjectV2ItemByIdPayload {
    clientMutationId: String
    item: ProjectV2Item
  }

  input ProjectV2FieldValue {
    text: String
    number: Float
    date: Date
    singleSelectOptionId: String
    iterationId: String
  }

  input UpdateProjectV2ItemFieldValueInput {
    clientMutationId: String
    projectId: ID!
    itemId: ID!
    fieldId: ID!
    value: ProjectV2FieldValue!
  }

  type UpdateProjectV2ItemFieldValuePayload {
    clientMutationId: String
    projectV2Item: ProjectV2Item
  }

  type Mutation {
    addProjectV2ItemById(input: AddProjectV2ItemByIdInput!): AddProjectV2ItemByIdPayload
    updateProjectV2ItemFieldValue(input: UpdateProjectV2ItemFieldValueInput!): UpdateProjectV2ItemFieldValuePayload
    createProjectV2(input: CreateProjectV2Input!): CreateProjectV2Payload
    updateProjectV2(input: UpdateProjectV2Input!): UpdateProjectV2Payload
    deleteProjectV2(input: DeleteProjectV2Input!): DeleteProjectV2Payload
    createProjectV2Field(input: CreateProjectV2FieldInput!): CreateProjectV2FieldPayload
    updateProjectV2Field(input: UpdateProjectV2FieldInput!): UpdateProjectV2FieldPayload
    deleteProjectV2Field(input: DeleteProjectV2FieldInput!): DeleteProjectV2FieldPayload
    linkProjectV2ToRepository(input: LinkProjectV2ToRepositoryInput!): LinkProjectV2ToRepositoryPayload
    unlinkProjectV2FromRepository(input: UnlinkProjectV2FromRepositoryInput!): UnlinkProjectV2FromRepositoryPayload
  }
`;

let cached: GraphQLSchema | undefined;

export function emulatorSchema(): GraphQLSchema {
  cached ??= buildSchema(SDL);
  return cached;
}
