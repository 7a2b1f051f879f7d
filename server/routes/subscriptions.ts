import { randomBytes, randomUUID } from "node:crypto";
import { subscriptionSecretPath } from "../../domain/notifications";
import { deliveryLedger, type LedgerEntry } from "../../notify/delivery-store";
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  type Subscription,
} from "../../notify/subscription-store";
import { setAuditTarget } from "../audit";
import { principalOf } from "../auth";
import type { AppContext } from "../context";
import { SecretStoreNotConfiguredError, SubscriptionNotFoundError } from "../errors";
import { validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { notificationDeliveryList, subscriptionCreated, subscriptionList, subscriptionRequest } from "../schemas";
import { type SecretWriter, vaultKvWriter } from "../webhooks/vault-kv";

function subscriptionOut(s: Subscription) {
  return {
    id: s.id,
    channel: s.channel,
    owner: s.owner,
    repo: s.repo,
    events: s.kinds,
    url: s.url,
    topic: s.topic,
    createdAt: s.createdAt.toISOString(),
    createdBy: s.createdBy,
  };
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

function deliveryOut(d: LedgerEntry) {
  return {
    deliveryId: d.deliveryId,
    eventId: d.eventId,
    event: d.kind,
    subscriptionId: d.subscriptionId,
    owner: d.owner,
    repo: d.repo,
    channel: d.channel,
    status: d.status,
    createdAt: d.createdAt.toISOString(),
    nextAttemptAt: iso(d.nextAttemptAt),
    deliveredAt: iso(d.deliveredAt),
    lastError: d.lastError,
    attempts: d.attempts.map((a) => ({ ...a, sentAt: a.sentAt.toISOString(), finishedAt: iso(a.finishedAt) })),
  };
}

/** Notification subscriptions, managed by an admin; a webhook's signing secret goes to Vault and into the creation's answer only. */
export function subscriptionRoutes(ctx: AppContext): RouteSpec[] {
  const ledgerOf = async (subscriptionId?: string) => ({
    deliveries: (await deliveryLedger(ctx.pool, { subscriptionId })).map(deliveryOut),
  });
  const vault = ctx.config.webhooks;
  const secrets: SecretWriter | undefined = vault
    ? vaultKvWriter({ addr: vault.vaultAddr, token: vault.vaultToken, mount: vault.vaultMount })
    : undefined;
  return [
    {
      method: "post",
      path: "/v1/subscriptions",
      operationId: "createSubscription",
      summary: "Subscribe a webhook or an ntfy topic to events of one repository or all; a webhook's signing secret is in this answer only",
      tag: "notifications",
      role: "admin",
      body: subscriptionRequest,
      responses: {
        201: {
          description: "Subscribed",
          schema: subscriptionCreated,
          headers: { "Cache-Control": "no-store: the answer may hold a secret" },
        },
      },
      errors: ["secret_store_not_configured", "secret_store_unavailable"],
      async handler(req, res) {
        const spec = validate(subscriptionRequest, req.body ?? {});
        const id = randomUUID();
        let secret: string | null = null;
        if (spec.channel === "webhook") {
          if (!secrets) throw new SecretStoreNotConfiguredError();
          secret = randomBytes(32).toString("hex");
          // Vault first: a row whose secret was never stored could sign nothing.
          await secrets.write(subscriptionSecretPath(id), { secret });
        }
        const created = await createSubscription(ctx.pool, id, {
          channel: spec.channel,
          owner: spec.owner ?? null,
          repo: spec.repo ?? null,
          kinds: spec.events,
          url: spec.url,
          topic: spec.topic ?? null,
          createdBy: principalOf(res)?.id ?? "unknown",
        }).catch(async (err: unknown) => {
          if (secret) await secrets?.destroy(subscriptionSecretPath(id)).catch(() => undefined);
          throw err;
        });
        setAuditTarget(res, created.id);
        res
          .status(201)
          .set("Cache-Control", "no-store")
          .json({ ...subscriptionOut(created), secret });
      },
    },
    {
      method: "get",
      path: "/v1/subscriptions",
      operationId: "listSubscriptions",
      summary: "Every live notification subscription; never a signing secret",
      tag: "notifications",
      role: "admin",
      responses: { 200: { description: "The subscriptions", schema: subscriptionList } },
      async handler(_req, res) {
        res.json({ subscriptions: (await listSubscriptions(ctx.pool)).map(subscriptionOut) });
      },
    },
    {
      method: "get",
      path: "/v1/subscriptions/:id/deliveries",
      operationId: "listSubscriptionDeliveries",
      summary: "The subscription's notification ledger: each delivery with every attempt, newest first",
      tag: "notifications",
      role: "admin",
      responses: { 200: { description: "The deliveries", schema: notificationDeliveryList } },
      errors: ["subscription_not_found"],
      async handler(req, res) {
        const id = String(req.params.id);
        if (!(await getSubscription(ctx.pool, id))) throw new SubscriptionNotFoundError(id);
        res.json(await ledgerOf(id));
      },
    },
    {
      method: "get",
      path: "/v1/notifications",
      operationId: "listNotifications",
      summary: "The notification ledger over every subscription: each delivery with every attempt, newest first",
      tag: "notifications",
      // What was sent where and how it went; no secret, URL or topic (those are the subscriptions', an admin's).
      role: "viewer",
      responses: { 200: { description: "The deliveries", schema: notificationDeliveryList } },
      async handler(_req, res) {
        res.json(await ledgerOf());
      },
    },
    {
      method: "delete",
      path: "/v1/subscriptions/:id",
      operationId: "deleteSubscription",
      summary: "End a subscription: its pending deliveries are cancelled and a webhook's secret removed from Vault",
      tag: "notifications",
      role: "admin",
      responses: { 204: { description: "Deleted" } },
      errors: ["subscription_not_found"],
      async handler(req, res) {
        const id = String(req.params.id);
        const deleted = await deleteSubscription(ctx.pool, id);
        if (!deleted) throw new SubscriptionNotFoundError(id);
        setAuditTarget(res, id);
        if (deleted.channel === "webhook" && secrets) {
          // The subscription is gone either way; a secret Vault kept is unused, and said so in the log.
          await secrets
            .destroy(subscriptionSecretPath(id))
            .catch((err: Error) => ctx.log.warn(`subscription ${id}: removing its secret: ${err.message}`));
        }
        res.status(204).end();
      },
    },
  ];
}
