import { z } from "zod";
import { RUN_KINDS, RUN_STATUSES } from "../domain/runs";
import { DEFAULT_TASK_TIMEOUT_MS, DELIVERY_STATUSES } from "../dispatch/task-store";
import {
  githubOwner,
  githubRepo,
  repoStackConfigSchema,
  SETTINGS_NEED_AUTH_PROJECT,
  settingsWithoutAuthProject,
} from "../domain/repo-config";
import { REPO_STATES } from "../domain/repo-state";
import { NOTIFICATION_CHANNELS, NOTIFICATION_KINDS } from "../domain/notifications";
import { RANKED_ROLES, ROLES } from "../domain/roles";
import { WORKFLOW_STATES } from "../domain/workflow";
import { ERROR_CODES, type ErrorCode } from "./errors";
import { nextCursorField, pageQueryFields } from "./pagination";

/**
 * The API's request and response shapes. Requests are validated with these; responses are documented with
 * them (the OpenAPI document is generated from this file and the route table).
 */

/**
 * The stack settings a client may choose. Images, the init script, the pull secret, the namespace and the
 * webhook's base URL are the operator's (server config and stack defaults), not a request's.
 */
/** The schemas named in the OpenAPI document (components.schemas), by id. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

const clientStackFields = repoStackConfigSchema.pick({
  displayName: true,
  defaultBranch: true,
  resources: true,
  labels: true,
  allowedAuthors: true,
  authProjectId: true,
  webhookEvents: true,
  envSecretKeys: true,
  workspaceStorage: true,
  sessionStorage: true,
  storageClassName: true,
  cacheRepo: true,
  overwriteDevcontainer: true,
  litellm: true,
  skipLiteLLM: true,
  settings: true,
  filters: true,
});

/** What a request may choose about the repo's storage prefix; the bucket is the server's (MESH_SIX_S3_BUCKET). */
const storageChoice = {
  storage: z
    .object({
      keepOnOffboard: z
        .boolean()
        .optional()
        .describe("Keep the prefix's objects when the repo is offboarded (default true); its key is always removed"),
    })
    .strict()
    .optional()
    .describe("The repo's prefix in the platform's S3-compatible store (made when the server has one)"),
  skipStorage: z.boolean().optional().describe("Make no storage prefix for this repo"),
};

const runOptions = {
  /** Skip the OAuth device-flow step. */
  skipAuth: z.boolean().optional().describe("Skip the OAuth device-flow step"),
  force: z
    .boolean()
    .optional()
    .describe("Run Pulumi even when the program build, config and inputs are identical to the last successful update (not up-to-date)"),
};

export const onboardingRequest = repoStackConfigSchema
  .pick({ owner: true, repo: true })
  .extend(clientStackFields.shape)
  .extend(storageChoice)
  .extend(runOptions)
  .strict()
  .refine((r) => !settingsWithoutAuthProject(r), { message: SETTINGS_NEED_AUTH_PROJECT, path: ["settings"] })
  .register(apiSchemas, { id: "OnboardingRequest", description: "Onboard a repository (or update it when it is already onboarded)" });

/** A preview's proposed settings; what it leaves out comes from the last applied onboarding. */
export const previewRequest = clientStackFields
  .partial()
  .strict()
  .register(apiSchemas, { id: "PreviewRequest", description: "Proposed settings to preview; omitted fields keep their applied values" });

const timestamp = z.iso.datetime().nullable();

export const runAccepted = z
  .object({
    runId: z.uuid(),
    kind: z.enum(RUN_KINDS),
    status: z.enum(RUN_STATUSES),
    position: z
      .number()
      .int()
      .nullable()
      .describe("Runs of the same stack that finish before this one starts (0: next); null once started"),
  })
  .register(apiSchemas, { id: "RunAccepted" });

export const runView = z
  .object({
    id: z.uuid(),
    kind: z.enum(RUN_KINDS),
    owner: z.string(),
    repo: z.string(),
    stackName: z.string(),
    status: z.enum(RUN_STATUSES),
    step: z.string().nullable(),
    position: z.number().int().nullable(),
    request: z.record(z.string(), z.unknown()).describe("The validated stack input (never holds a secret)"),
    options: z.object({ skipAuth: z.boolean().optional(), force: z.boolean().optional() }),
    cancelRequested: z.boolean(),
    interruptions: z.number().int(),
    createdAt: z.iso.datetime(),
    startedAt: timestamp,
    finishedAt: timestamp,
    failedStep: z.string().nullable(),
    failureReason: z.string().nullable(),
    changeSummary: z.record(z.string(), z.number()).nullable(),
    outputs: z.record(z.string(), z.unknown()).nullable().describe('Stack outputs; secret ones read "[secret]"'),
    policy: z
      .object({
        packs: z.record(z.string(), z.string()).describe("Name → version of each policy pack that ran"),
        violations: z.array(
          z.object({
            policyPack: z.string(),
            policy: z.string(),
            enforcement: z.string().describe("advisory, mandatory or remediate"),
            message: z.string(),
            urn: z.string().optional(),
          }),
        ),
      })
      .nullable()
      .describe("What the policy packs said, kept once the run ends (null while it runs)"),
    outcome: z
      .enum(["applied", "up-to-date"])
      .nullable()
      .describe("Of a succeeded onboard or update: applied by Pulumi, or up-to-date (nothing ran: see upToDateWith); else null"),
    upToDateWith: z.uuid().nullable().describe("Of an up-to-date run: the earlier run whose result (outputs included) it repeats"),
    fingerprint: z
      .object({
        digest: z.string().describe("sha256 over the components"),
        components: z
          .record(z.string(), z.string())
          .describe(
            "Hash per component: program, toolchain:<tool>, config:<key>, env:<variable>, state:<backend|secrets>, options:<option>, post-up:auth; the credentials among the variables and the secret config values only together (secrets:env, secrets:config), so that none can be checked against a guess",
          ),
        verdict: z.enum(["up-to-date", "changed", "forced", "first"]),
        comparedWith: z.uuid().nullable().describe("The stack's last successful onboard or update it was compared with"),
        reasons: z
          .array(z.string())
          .describe('Why it ran ("config changed: mesh-six:labels", "a drift check found drift …") or was up-to-date'),
        after: z
          .object({ state: z.string().nullable(), registry: z.string().nullable() })
          .optional()
          .describe("Hashes of the state checkpoint and registry row an applied run left"),
      })
      .nullable()
      .describe("Of an onboard or update once claimed: what it would apply, hashed per component, and how it compared"),
    auth: z
      .object({
        verificationUri: z.string(),
        verificationUriComplete: z.string().optional(),
        userCode: z.string(),
        expiresAt: z.iso.datetime(),
      })
      .nullable()
      .describe("While the run is waiting-for-auth: where the user approves this device, and the code to enter"),
  })
  .register(apiSchemas, { id: "Run" });

export const runPage = z
  .object({ runs: z.array(runView).describe("Newest first"), nextCursor: nextCursorField })
  .register(apiSchemas, { id: "RunPage" });

export const runListQuery = z
  .object({ kind: z.enum(RUN_KINDS).optional(), status: z.enum(RUN_STATUSES).optional(), ...pageQueryFields(50) })
  .strict();

/** Credentials obtained outside the device flow (a token response, RFC 6749 §5.1), for a waiting run. */
export const authPushRequest = z
  .object({
    access_token: z.string().min(1),
    token_type: z.string().min(1),
    expires_in: z.number().int().positive().optional(),
    refresh_token: z.string().min(1).optional(),
    scope: z.string().optional(),
  })
  .strict()
  .register(apiSchemas, {
    id: "AuthPushRequest",
    description: "A token response for a run waiting for auth; it goes to the auth service, never into a run record",
  });

export const authPushAnswer = z
  .object({ runId: z.uuid(), status: z.enum(RUN_STATUSES), authReceived: z.literal(true) })
  .register(apiSchemas, { id: "AuthPushAnswer" });

export const cancelAnswer = z
  .object({ runId: z.uuid(), status: z.enum(RUN_STATUSES), cancelRequested: z.boolean() })
  .register(apiSchemas, { id: "CancelAnswer" });

export const repoView = z
  .object({
    owner: z.string(),
    repo: z.string(),
    fullName: z.string(),
    stackName: z.string(),
    state: z.enum(REPO_STATES).describe("Where the repository is in its life on the platform (docs/ARCHITECTURE.md, Repo lifecycle)"),
    registry: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe("The repo_registry row (null until the stack has registered the repository, and once it is offboarded)"),
    lastRun: runView.nullable(),
  })
  .register(apiSchemas, { id: "Repo" });

export const repoList = z.object({ repos: z.array(repoView) }).register(apiSchemas, { id: "RepoList" });

export const repoListQuery = z.object({ state: z.enum([...REPO_STATES, "current", "all"]).default("current") }).strict();

export const openApiDocumentBody = z
  .looseObject({
    openapi: z.string(),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .register(apiSchemas, { id: "OpenApiDocument", description: "This document (OpenAPI 3.1)" });

export const metricsBody = z.string().describe("Prometheus text exposition format");

export const healthBody = z.object({ status: z.literal("ok") }).register(apiSchemas, { id: "Health" });

export const readyBody = z
  .object({
    // draining: the process is stopping (SIGTERM) and takes no new traffic, though it still answers.
    status: z.enum(["ready", "not_ready", "draining"]),
    checks: z.record(z.string(), z.string()),
  })
  .register(apiSchemas, { id: "Readiness" });

export const runEventBody = z
  .object({
    seq: z.number().int(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    at: z.iso.datetime(),
  })
  .register(apiSchemas, { id: "RunEvent", description: "The data of one Server-Sent Event; the event's id is `seq`, its name is `type`" });

const capabilityName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "expected letters, digits, '.', '_', ':' or '-'");

export const agentRegistration = z
  .object({
    name: z.string().min(1).max(200),
    endpoint: z.url({ protocol: /^https?$/ }).describe("Where tasks are POSTed"),
    capabilities: z
      .record(capabilityName, z.number().positive().max(1000))
      .refine((caps) => Object.keys(caps).length > 0, "name at least one capability")
      .describe("Capability → weight (higher: preferred)"),
    githubLogin: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/, "expected a GitHub login")
      .optional()
      .describe("The GitHub login the agent acts as: deliveries it sends or writes never become work (its own comments)"),
  })
  .strict()
  .register(apiSchemas, { id: "AgentRegistration" });

export const agentRegistered = z.object({ agentId: z.uuid() }).register(apiSchemas, { id: "AgentRegistered" });

export const agentView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    endpoint: z.string(),
    capabilities: z.record(z.string(), z.number()),
    githubLogin: z.string().nullable(),
    lastHeartbeatAt: z.iso.datetime(),
    registeredAt: z.iso.datetime(),
    healthy: z.boolean().describe("Heartbeat within the staleness window: the agent may be given tasks"),
  })
  .register(apiSchemas, { id: "Agent" });

export const agentList = z.object({ agents: z.array(agentView) }).register(apiSchemas, { id: "AgentList" });

/** A NUL character in any string of a JSON value, keys included. */
function containsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\0");
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => k.includes("\0") || containsNul(v));
  return false;
}

export const taskRequest = z
  .object({
    capability: capabilityName,
    owner: githubOwner,
    repo: githubRepo,
    payload: z
      .unknown()
      .refine((v) => v !== undefined, "required")
      // The server's other text goes to jsonb, which refuses NUL; a payload that carried one would be the one place
      // it passed, and agents storing it as PostgreSQL jsonb would fail on it later. Refused here, as everywhere else.
      .refine((v) => !containsNul(v), "must not contain NUL characters (\\u0000)")
      .describe("Delivered to the agent exactly as stored, on every attempt"),
    priority: z.number().int().min(-1000).max(1000).default(0).describe("Higher is delivered first"),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600_000)
      .default(DEFAULT_TASK_TIMEOUT_MS)
      .describe("How long the agent has to take the task and report"),
  })
  .strict()
  .register(apiSchemas, { id: "TaskRequest" });

export const taskAccepted = z.object({ taskId: z.uuid() }).register(apiSchemas, { id: "TaskAccepted" });

const taskStateEnum = z.enum(WORKFLOW_STATES);

const taskAttemptView = z
  .object({
    attempt: z.number().int(),
    agentId: z.uuid().nullable(),
    agentName: z.string().nullable(),
    startedAt: z.iso.datetime(),
    finishedAt: timestamp,
    outcome: z.string().nullable(),
    error: z.string().nullable(),
  })
  .register(apiSchemas, { id: "TaskAttempt" });

export const taskView = z
  .object({
    id: z.uuid(),
    capability: z.string(),
    owner: z.string(),
    repo: z.string(),
    payload: z.unknown(),
    priority: z.number().int(),
    timeoutMs: z.number().int(),
    state: taskStateEnum,
    deliveryStatus: z.enum(DELIVERY_STATUSES),
    maxAttempts: z.number().int(),
    nextAttemptAt: z.iso.datetime().nullable(),
    attempts: z.array(taskAttemptView),
    result: z.unknown(),
    error: z.string().nullable().describe("Why the last attempt, or the task, failed"),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(apiSchemas, { id: "Task" });

export const taskSummary = z
  .object({
    id: z.uuid(),
    capability: z.string(),
    owner: z.string(),
    repo: z.string(),
    priority: z.number().int(),
    timeoutMs: z.number().int(),
    state: taskStateEnum,
    deliveryStatus: z.enum(DELIVERY_STATUSES),
    attemptCount: z.number().int().describe("Every attempt the task ever had"),
    maxAttempts: z.number().int(),
    lastAttempt: taskAttemptView.nullable().describe("The latest attempt (null before the first)"),
    nextAttemptAt: z.iso.datetime().nullable(),
    error: z.string().nullable().describe("Why the last attempt, or the task, failed"),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(apiSchemas, {
    id: "TaskSummary",
    description: "A task as lists show it; GET /v1/tasks/{id} adds its payload, result and every attempt",
  });

export const taskPage = z
  .object({ tasks: z.array(taskSummary).describe("Newest first"), nextCursor: nextCursorField })
  .register(apiSchemas, { id: "TaskPage" });

export const taskListQuery = z
  .object({
    state: taskStateEnum.optional(),
    status: z.enum(DELIVERY_STATUSES).optional(),
    capability: capabilityName.optional(),
    agent: z.uuid().optional(),
    ...pageQueryFields(50),
  })
  .strict();

const DELIVERY_OUTCOMES = ["received", "processed", "ignored", "failed"] as const;

export const deliveryView = z
  .object({
    deliveryId: z.string().describe("X-GitHub-Delivery"),
    owner: z.string().describe("The URL's owner, or organization"),
    repo: z.string().nullable().describe("The URL's repository (null for an organization's delivery)"),
    event: z.string().describe("X-GitHub-Event"),
    action: z.string().nullable(),
    outcome: z.enum(DELIVERY_OUTCOMES).describe("received: not processed yet"),
    receivedAt: z.iso.datetime(),
    processedAt: timestamp,
    reason: z.string().nullable().describe("Why it was ignored"),
    error: z.string().nullable().describe("Why processing failed"),
    workItems: z
      .array(
        z.object({
          owner: z.string(),
          repo: z.string(),
          kind: z.enum(["issue", "issue-comment", "pull-request", "board-update"]),
          issueNumber: z.number().int().nullable(),
          taskId: z.uuid().nullable().describe("The task it became, for work agents do"),
        }),
      )
      .describe("What it asked for"),
  })
  .register(apiSchemas, { id: "Delivery", description: "A webhook delivery: never its payload or signature" });

export const deliveryPage = z
  .object({ deliveries: z.array(deliveryView).describe("Newest received first"), nextCursor: nextCursorField })
  .register(apiSchemas, { id: "DeliveryPage" });

export const deliveryListQuery = z
  .object({ event: z.string().min(1).max(64).optional(), outcome: z.enum(DELIVERY_OUTCOMES).optional(), ...pageQueryFields(50) })
  .strict();

export const taskTransitionRequest = z.object({ to: taskStateEnum }).strict().register(apiSchemas, { id: "TaskTransition" });

export const taskResultRequest = z
  .object({
    outcome: z.enum(["succeeded", "failed"]),
    result: z.unknown().optional(),
    error: z.string().max(10_000).optional(),
  })
  .strict()
  .register(apiSchemas, { id: "TaskResult" });

export const tokenRequest = z
  .object({
    name: z.string().min(1).max(200).describe("Who or what will hold the token"),
    role: z.enum(ROLES),
    agentId: z.uuid().optional().describe("The agent an agent token acts for: required with the agent role, refused with any other"),
  })
  .strict()
  .superRefine((t, issues) => {
    if ((t.role === "agent") !== (t.agentId !== undefined)) {
      issues.addIssue({
        code: "custom",
        path: ["agentId"],
        message: t.role === "agent" ? "required with the agent role" : "only with the agent role",
      });
    }
  })
  .register(apiSchemas, { id: "TokenRequest" });

const tokenFields = {
  id: z.uuid(),
  name: z.string(),
  role: z.enum(ROLES),
  agentId: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  createdBy: z.string().nullable().describe("The actor id of the admin who created it"),
};

export const tokenView = z
  .object({ ...tokenFields, revokedAt: timestamp })
  .register(apiSchemas, { id: "Token", description: "A token as listed: never its text" });

export const tokenCreated = z
  .object({ ...tokenFields, token: z.string().describe("The token itself: shown in this answer only, stored only as its SHA-256") })
  .register(apiSchemas, { id: "TokenCreated" });

export const tokenList = z.object({ tokens: z.array(tokenView) }).register(apiSchemas, { id: "TokenList" });

export const subscriptionRequest = z
  .object({
    channel: z.enum(NOTIFICATION_CHANNELS).describe("`webhook`: a signed POST of the event as JSON; `ntfy`: an ntfy topic"),
    owner: githubOwner.optional().describe("With `repo`: only this repository's events; without both: every repository's"),
    repo: githubRepo.optional(),
    events: z
      .array(z.enum(NOTIFICATION_KINDS))
      .min(1)
      .refine((kinds) => new Set(kinds).size === kinds.length, "names an event twice")
      .describe("The event kinds to hear of"),
    url: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .max(2000)
      .describe("The webhook's URL, or the ntfy server's base URL (https://ntfy.sh)"),
    topic: z
      .string()
      .regex(/^[-_A-Za-z0-9]{1,64}$/, "must be an ntfy topic name (letters, digits, - and _, at most 64)")
      .optional()
      .describe("The ntfy topic: required with the ntfy channel, refused with a webhook"),
  })
  .strict()
  .superRefine((s, issues) => {
    if ((s.owner === undefined) !== (s.repo === undefined)) {
      issues.addIssue({ code: "custom", path: [s.owner === undefined ? "owner" : "repo"], message: "owner and repo go together" });
    }
    if ((s.channel === "ntfy") !== (s.topic !== undefined)) {
      issues.addIssue({
        code: "custom",
        path: ["topic"],
        message: s.channel === "ntfy" ? "required with the ntfy channel" : "only with the ntfy channel",
      });
    }
  })
  .register(apiSchemas, { id: "SubscriptionRequest" });

const subscriptionFields = {
  id: z.uuid(),
  channel: z.enum(NOTIFICATION_CHANNELS),
  owner: z.string().nullable().describe("null with repo: every repository"),
  repo: z.string().nullable(),
  events: z.array(z.enum(NOTIFICATION_KINDS)),
  url: z.string(),
  topic: z.string().nullable(),
  createdAt: z.iso.datetime(),
  createdBy: z.string().nullable().describe("The actor id of the admin who created it"),
};

export const subscriptionView = z
  .object(subscriptionFields)
  .register(apiSchemas, { id: "Subscription", description: "A subscription as listed: never its signing secret" });

export const subscriptionCreated = z
  .object({
    ...subscriptionFields,
    secret: z
      .string()
      .nullable()
      .describe(
        "A webhook's signing secret, shown in this answer only (kept in Vault): X-Mesh-Six-Signature-256 is `sha256=` and the HMAC-SHA256 of the body with it; null for ntfy",
      ),
  })
  .register(apiSchemas, { id: "SubscriptionCreated" });

export const subscriptionList = z.object({ subscriptions: z.array(subscriptionView) }).register(apiSchemas, { id: "SubscriptionList" });

const notificationAttempt = z.object({
  attempt: z.number().int(),
  worker: z.string(),
  sentAt: z.iso.datetime(),
  finishedAt: timestamp,
  outcome: z.enum(["delivered", "http_error", "timeout", "unreachable", "not_sent", "interrupted", "cancelled"]).nullable(),
  httpStatus: z.number().int().nullable(),
  error: z.string().nullable(),
});

export const notificationDeliveryList = z
  .object({
    deliveries: z
      .array(
        z.object({
          deliveryId: z.uuid().describe("Sent as X-Mesh-Six-Delivery"),
          eventId: z.string(),
          event: z.enum(NOTIFICATION_KINDS),
          subscriptionId: z.uuid(),
          owner: z.string().nullable(),
          repo: z.string().nullable(),
          channel: z.enum(NOTIFICATION_CHANNELS),
          status: z.enum(["pending", "delivered", "cancelled"]),
          createdAt: z.iso.datetime(),
          nextAttemptAt: timestamp.describe("When a pending delivery is tried next"),
          deliveredAt: timestamp,
          lastError: z.string().nullable(),
          attempts: z.array(notificationAttempt),
        }),
      )
      .describe("Newest first, at most 100"),
  })
  .register(apiSchemas, { id: "NotificationDeliveryList" });

export const auditEntry = z
  .object({
    id: z.string(),
    at: z.iso.datetime(),
    actor: z.object({
      id: z.string().describe("The token's id, or `config:<n>` for the n-th token of MESH_SIX_API_TOKENS"),
      name: z.string(),
      role: z.enum(ROLES),
    }),
    method: z.string(),
    route: z.string().nullable().describe("The route pattern (`/v1/runs/:id/cancel`); null when no route matched"),
    target: z.string().nullable().describe("What the request was about: owner/repo, a run's, task's, agent's or token's id"),
    status: z.number().int().describe("The status the request was answered with"),
  })
  .register(apiSchemas, { id: "AuditEntry" });

export const auditPage = z
  .object({
    entries: z.array(auditEntry).describe("Newest first"),
    nextCursor: nextCursorField,
  })
  .register(apiSchemas, { id: "AuditPage" });

export const auditQuery = z
  .object({ actor: z.string().min(1).optional(), route: z.string().min(1).optional(), ...pageQueryFields(100) })
  .strict();

const fieldIssues = z.array(z.object({ field: z.string(), message: z.string() }));

// The fields an error carries besides its code; every other code's body is `{"error": code}` alone.
const ERROR_FIELDS: Partial<Record<ErrorCode, z.ZodRawShape>> = {
  invalid_request: { issues: fieldIssues },
  forbidden: {
    required: z.enum(RANKED_ROLES).describe("The least role that may do this"),
    agent: z.boolean().describe("Whether an agent's token may do it for its own agent"),
  },
  unknown_repository: { repository: z.string().optional().describe("owner/repo (a task's; a webhook's names it in the URL)") },
  invalid_transition: { from: taskStateEnum, to: taskStateEnum },
  task_not_in_flight: { deliveryStatus: z.enum(DELIVERY_STATUSES) },
  run_finished: { status: z.enum(RUN_STATUSES) },
  run_not_waiting_for_auth: { status: z.enum(RUN_STATUSES) },
};

/** The body of each error code, named `Error_<code>` in the document's components. */
export const errorSchemas = Object.fromEntries(
  (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => [
    code,
    z
      .object({ error: z.literal(code), ...ERROR_FIELDS[code] })
      .strict()
      .register(apiSchemas, { id: `Error_${code}`, description: ERROR_CODES[code].description }),
  ]),
) as unknown as Record<ErrorCode, z.ZodType>;
