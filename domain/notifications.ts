import type { RunRecord, RunStatus } from "./runs";

/**
 * What the control plane tells people about, and through which channels. An event is written by the change it
 * reports, in that change's transaction (db/notification-outbox.ts); subscriptions name the kinds they want.
 */
export const NOTIFICATION_KINDS = [
  "run.succeeded",
  "run.failed",
  "run.waiting-for-auth",
  "drift.detected",
  "task.exhausted",
  "webhook.failed",
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const NOTIFICATION_CHANNELS = ["webhook", "ntfy"] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** One event as the outbox keeps it: `data` is what receivers get, `path` the API resource it is about. */
export interface NotificationEvent {
  kind: NotificationKind;
  /** The repository it concerns; global subscriptions hear of every one. */
  owner: string | null;
  repo: string | null;
  /** Where the subject is in the API (`/v1/runs/<id>`): the link receivers are given, made absolute when sent. */
  path: string;
  /** A one-line summary, the ntfy title. */
  title: string;
  data: Record<string, unknown>;
}

/** The run statuses people hear of, and how a title says each. */
const RUN_KINDS: Partial<Record<RunStatus, { kind: NotificationKind; verb: string }>> = {
  succeeded: { kind: "run.succeeded", verb: "succeeded" },
  failed: { kind: "run.failed", verb: "failed" },
  "waiting-for-auth": { kind: "run.waiting-for-auth", verb: "is waiting for auth" },
};

/** What a run that just reached its status reports, if anything. */
export function runNotification(run: RunRecord): NotificationEvent | undefined {
  const said = RUN_KINDS[run.status];
  if (!said) return undefined;
  return {
    kind: said.kind,
    owner: run.owner,
    repo: run.repo,
    path: `/v1/runs/${run.id}`,
    title: `${run.kind} of ${run.owner}/${run.repo} ${said.verb}`,
    data: {
      runId: run.id,
      runKind: run.kind,
      stackName: run.stackName,
      status: run.status,
      ...(run.status === "failed" ? { failedStep: run.failedStep, reason: run.failureReason } : {}),
      // The user code is what the person must type at the verification page: that is the point of telling them.
      ...(run.status === "waiting-for-auth" && run.auth
        ? { verificationUri: run.auth.verificationUriComplete ?? run.auth.verificationUri, userCode: run.auth.userCode }
        : {}),
    },
  };
}

/** The Vault KV path of a webhook subscription's signing secret. */
export function subscriptionSecretPath(subscriptionId: string): string {
  return `mesh-six/notifications/subscriptions/${subscriptionId}`;
}
