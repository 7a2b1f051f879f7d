import { createHmac } from "node:crypto";
import type { NotificationKind } from "../domain/notifications";
import type { ClaimedDelivery } from "./delivery-store";

/** The HTTP request a delivery is sent as, per channel: a signed webhook, or an ntfy publish. */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export const SIGNATURE_HEADER = "X-Mesh-Six-Signature-256";
export const EVENT_HEADER = "X-Mesh-Six-Event";
export const DELIVERY_HEADER = "X-Mesh-Six-Delivery";

/** The absolute link of what the event is about, under the server's public URL. */
export function linkOf(publicUrl: string, path: string): string {
  return `${publicUrl.replace(/\/+$/, "")}${path}`;
}

/** `sha256=<hex>` HMAC of the exact body bytes, as GitHub signs its webhooks (X-Hub-Signature-256). */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** The webhook's JSON body: the same bytes on every attempt of one delivery. */
export function webhookRequest(d: ClaimedDelivery, publicUrl: string, secret: string): OutgoingRequest {
  const body = JSON.stringify({
    event: d.kind,
    deliveryId: d.deliveryId,
    occurredAt: d.occurredAt.toISOString(),
    repository: d.owner && d.repo ? { owner: d.owner, repo: d.repo } : null,
    title: d.title,
    link: linkOf(publicUrl, d.path),
    data: d.data,
  });
  return {
    url: d.url,
    body,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "mesh-six-notifications",
      [EVENT_HEADER]: d.kind,
      [DELIVERY_HEADER]: d.deliveryId,
      [SIGNATURE_HEADER]: signature(secret, body),
    },
  };
}

// ntfy's priorities: 3 is its default, 4 "high" (a long vibration): for what someone must act on.
const NTFY_LOOK: Record<NotificationKind, { tags: string[]; priority: number }> = {
  "run.succeeded": { tags: ["white_check_mark"], priority: 3 },
  "run.failed": { tags: ["x"], priority: 4 },
  "run.waiting-for-auth": { tags: ["key"], priority: 4 },
  "drift.detected": { tags: ["warning"], priority: 3 },
  "task.exhausted": { tags: ["rotating_light"], priority: 4 },
  "webhook.failed": { tags: ["warning"], priority: 3 },
};

/** The notification's text: what the title does not say. */
export function messageText(d: Pick<ClaimedDelivery, "kind" | "data">): string {
  const v = (key: string) => (d.data[key] === undefined || d.data[key] === null ? "" : String(d.data[key]));
  switch (d.kind) {
    case "run.succeeded":
      return `stack ${v("stackName")}`;
    case "run.failed":
      return `step ${v("failedStep") || "?"}: ${v("reason")}`;
    case "run.waiting-for-auth":
      return `approve at ${v("verificationUri")} with the code ${v("userCode")}`;
    case "drift.detected": {
      const summary = Object.entries((d.data.changeSummary as Record<string, number> | null) ?? {})
        .filter(([op, n]) => op !== "same" && n > 0)
        .map(([op, n]) => `${op} ${n}`);
      return `a refresh of ${v("stackName")} would ${summary.join(", ") || "change it"}`;
    }
    case "task.exhausted":
      return v("reason");
    case "webhook.failed":
      return `${v("event")}${v("action") ? `.${v("action")}` : ""}: ${v("error")}`;
  }
}

/**
 * ntfy's "publish as JSON" (docs.ntfy.sh/publish/#publish-as-json): the whole message in a JSON body POSTed to
 * the server's root URL, not the topic's. JSON rather than the Title/Tags headers because a title may hold any
 * character, and headers are not reliably UTF-8. The link is the click action.
 */
export function ntfyRequest(d: ClaimedDelivery, publicUrl: string): OutgoingRequest {
  const look = NTFY_LOOK[d.kind];
  return {
    url: `${d.url.replace(/\/+$/, "")}/`,
    headers: { "Content-Type": "application/json", "User-Agent": "mesh-six-notifications" },
    body: JSON.stringify({
      topic: d.topic,
      title: d.title,
      message: messageText(d),
      tags: look.tags,
      priority: look.priority,
      click: linkOf(publicUrl, d.path),
    }),
  };
}
