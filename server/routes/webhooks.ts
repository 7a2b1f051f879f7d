import express, { type Request, type RequestHandler } from "express";
import {
  legacyVaultWebhookPath,
  ORG_WEBHOOK_ROUTE,
  type RepoRef,
  REPO_WEBHOOK_ROUTE,
  repoRefOf,
  validateOrg,
  vaultOrgWebhookPath,
  vaultWebhookPath,
} from "../../domain/names";
import type { Logger } from "../../lib/logger";
import type { AppContext } from "../context";
import { type ErrorCode, WebhookRejectedError } from "../errors";
import type { RouteSpec } from "../route-table";
import type { WebhookProcessor } from "../webhooks/processor";
import { decideAtReceipt, metricEvent } from "../webhooks/processor";
import type { RepoRulesCache, WebhookRules } from "../webhooks/registry-cache";
import type { WebhookSecretCache } from "../webhooks/secret-cache";
import type { DeliveryWriter } from "../webhooks/delivery-writer";
import { z } from "zod";

/**
 * GitHub's webhook deliveries. Order matters: cheap header checks, then the raw body (bounded), then the
 * secret picked by the URL — never by anything in the unverified body — and the timing-safe signature check
 * over the exact bytes received; only then is the body parsed, matched against the URL, stored (deduplicated
 * on X-GitHub-Delivery) and acknowledged with 202. Processing happens after the answer.
 *
 * Content types: GitHub sends `application/json` or, when a hook is configured so,
 * `application/x-www-form-urlencoded` with the JSON in a `payload` field. Both are accepted (the signature
 * covers the form-encoded bytes as sent); anything else is a 415.
 */
export interface WebhookReceiver {
  /** undefined: Vault is not configured, and every delivery is answered 503. */
  secrets?: WebhookSecretCache;
  processor: WebhookProcessor;
  /** The registry rows deliveries are checked against. */
  rules: RepoRulesCache;
  /** Stores verified deliveries before they are acknowledged. */
  writer: DeliveryWriter;
  maxBodyBytes: number;
}

interface Source {
  owner: string;
  repo: string | null;
  vaultPath: string;
  unknown: "unknown_repository" | "unknown_organization";
  /** Whether the verified payload names this source (the URL's repository or organization). */
  matches(payload: Record<string, unknown>): boolean;
  mismatch: "repository_mismatch" | "organization_mismatch";
  /** The repo's registry row (repo deliveries). */
  rules?: WebhookRules;
}

const EVENT_PATTERN = /^[a-z0-9_]{1,64}$/;
export const DELIVERY_PATTERN = /^[A-Za-z0-9-]{1,100}$/;
const CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded"];
const utf8 = new TextDecoder("utf-8", { fatal: true });

const loginOf = (v: unknown, key: string): string | undefined => {
  const value = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return typeof value === "string" ? value.toLowerCase() : undefined;
};

export function webhookRoutes(ctx: AppContext, hooks: WebhookReceiver, log: Logger): RouteSpec[] {
  const rawBody = express.raw({ type: "*/*", limit: hooks.maxBodyBytes });

  // A delivery id becomes a field only with the shape GitHub gives it: anything else is the sender's text.
  function deliveryField(req: Request): { deliveryId?: string } {
    const delivery = req.get("x-github-delivery");
    return delivery && DELIVERY_PATTERN.test(delivery) ? { deliveryId: delivery } : {};
  }

  function reject(req: Request, code: WebhookRejectedError["code"], message: string): never {
    // What was asked and why it was refused; never the body, which nobody vouched for.
    log.warn(deliveryField(req), `webhook ${req.path} rejected (${code})`);
    throw new WebhookRejectedError(code, message);
  }

  async function repoSource(req: Request): Promise<Source> {
    const owner = String(req.params.owner);
    const repo = String(req.params.repo);
    let ref: RepoRef | undefined;
    try {
      ref = repoRefOf(owner, repo);
    } catch {
      // An invalid or reserved name cannot be a registered repository: answered like any unknown one.
    }
    const rules = ref ? await hooks.rules.find(ref.owner, ref.repo) : undefined;
    if (!rules) reject(req, "unknown_repository", `${owner}/${repo} is not a registered repository`);
    const fullName = `${rules.owner}/${rules.repo}`.toLowerCase();
    const registered = { owner: rules.owner, repo: rules.repo };
    // A repo whose stack has not been applied since secrets moved under repos/ still has its secret at the old path.
    const legacy = legacyVaultWebhookPath(registered);
    return {
      owner: rules.owner,
      repo: rules.repo,
      vaultPath: rules.webhookSecretPath === legacy ? legacy : vaultWebhookPath(registered),
      unknown: "unknown_repository",
      matches: (payload) => loginOf(payload.repository, "full_name") === fullName,
      mismatch: "repository_mismatch",
      rules,
    };
  }

  async function orgSource(req: Request): Promise<Source> {
    const org = String(req.params.org);
    try {
      validateOrg(org);
    } catch {
      reject(req, "unknown_organization", `${org} is not a valid organization name`);
    }
    return {
      owner: org,
      repo: null,
      vaultPath: vaultOrgWebhookPath(org),
      unknown: "unknown_organization",
      matches: (payload) => loginOf(payload.organization, "login") === org.toLowerCase(),
      mismatch: "organization_mismatch",
    };
  }

  function parse(req: Request, text: string): Record<string, unknown> {
    let json = text;
    if (req.is("application/x-www-form-urlencoded")) {
      const field = new URLSearchParams(text).get("payload");
      if (field === null) reject(req, "malformed_json", "the form has no payload field");
      json = field;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(json);
    } catch {
      reject(req, "malformed_json", "the body is not JSON");
    }
    if (!payload || typeof payload !== "object" || Array.isArray(payload)) reject(req, "malformed_json", "the body is not a JSON object");
    return payload as Record<string, unknown>;
  }

  /** The delivery's headers, checked before its body is read. */
  interface DeliveryHeaders {
    event: string;
    deliveryId: string;
    signature: string;
  }

  async function receive(req: Request, res: express.Response, resolve: (req: Request) => Promise<Source>, headers: DeliveryHeaders) {
    const { event, deliveryId, signature } = headers;
    const source = await resolve(req);
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) reject(req, "unsupported_content_type", "the body could not be read");
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      // GitHub signs UTF-8 JSON; bytes that are not UTF-8 cannot be checked as GitHub would have signed them.
      reject(req, "signature_mismatch", "the body is not UTF-8");
    }
    let verdict;
    try {
      verdict = await hooks.secrets!.verify(source.vaultPath, text, signature);
    } catch (err) {
      log.child({ deliveryId }).error(`webhook ${req.path}: reading the secret failed: ${(err as Error).message}`);
      throw err;
    }
    if (verdict === "unknown") reject(req, source.unknown, `no webhook secret for ${source.owner}${source.repo ? `/${source.repo}` : ""}`);
    if (verdict === "mismatch") reject(req, "signature_mismatch", "the signature does not match");
    const payload = parse(req, text);
    if (!source.matches(payload)) reject(req, source.mismatch, "the payload names another source than the URL");
    const action = typeof payload.action === "string" ? payload.action : null;
    const delivery = { deliveryId, owner: source.owner, repo: source.repo, event, action, payload };
    const decided = source.rules ? decideAtReceipt(event, payload, source.rules) : undefined;
    // Processed here after the 202 if a slot is free; else stored unclaimed, for the sweep.
    const reserved = !decided && hooks.processor.reserve();
    let fresh: boolean;
    try {
      fresh = await hooks.writer.record(delivery, decided ?? { outcome: "received", claimMs: reserved ? hooks.processor.claimMs : null });
    } catch (err) {
      if (reserved) hooks.processor.release();
      throw err;
    }
    if (!fresh) {
      if (reserved) hooks.processor.release();
      ctx.metrics.webhookDeliveries.inc({ event: metricEvent(event), outcome: "duplicate" });
      res.status(200).json({ status: "duplicate", deliveryId });
      return;
    }
    ctx.metrics.webhookDeliveries.inc({ event: metricEvent(event), outcome: "accepted" });
    res.status(202).json({ status: "accepted", deliveryId });
    if (decided) ctx.metrics.webhookDeliveries.inc({ event: metricEvent(event), outcome: decided.outcome });
    else if (reserved) hooks.processor.submit(delivery);
    else hooks.processor.overflowed();
  }

  function handler(resolve: (req: Request) => Promise<Source>): RequestHandler {
    return (req, res, next) => {
      const fail = (err: unknown) => {
        const code =
          err instanceof WebhookRejectedError
            ? err.code
            : (err as { type?: string })?.type === "entity.too.large"
              ? "payload_too_large"
              : "error";
        ctx.metrics.webhookDeliveries.inc({ event: metricEvent(req.get("x-github-event")), outcome: code });
        if ((err as { type?: string })?.type === "entity.too.large")
          log.warn(deliveryField(req), `webhook ${req.path} rejected (payload_too_large)`);
        next(err);
      };
      try {
        if (!hooks.secrets) reject(req, "webhooks_not_configured", "webhooks need Vault (VAULT_ADDR, VAULT_TOKEN)");
        const event = req.get("x-github-event");
        if (!event || !EVENT_PATTERN.test(event)) reject(req, "event_header_missing", "X-GitHub-Event is missing or invalid");
        const deliveryId = req.get("x-github-delivery");
        if (!deliveryId || !DELIVERY_PATTERN.test(deliveryId))
          reject(req, "delivery_header_missing", "X-GitHub-Delivery is missing or invalid");
        const signature = req.get("x-hub-signature-256");
        if (!signature) reject(req, "signature_missing", "X-Hub-Signature-256 is missing");
        if (!req.is(CONTENT_TYPES)) reject(req, "unsupported_content_type", "send application/json or application/x-www-form-urlencoded");
        rawBody(req, res, (err?: unknown) => {
          if (err) return fail(err);
          receive(req, res, resolve, { event, deliveryId, signature }).catch(fail);
        });
      } catch (err) {
        fail(err);
      }
    };
  }

  const headers = [
    { name: "X-GitHub-Event", description: "The event's name (required)" },
    { name: "X-GitHub-Delivery", description: "The delivery's id; a repeat is answered 200 duplicate (required)" },
    { name: "X-Hub-Signature-256", description: "sha256=HMAC of the raw body with the webhook's secret (required)" },
  ];
  const accepted = z.object({ status: z.enum(["accepted", "duplicate"]), deliveryId: z.string() });
  const responses = {
    200: { description: "A delivery already received", schema: accepted },
    202: { description: "Stored; processed after this answer", schema: accepted },
  };
  const rejections = (source: "repository" | "organization"): ErrorCode[] => [
    "event_header_missing",
    "delivery_header_missing",
    "malformed_json",
    `${source}_mismatch`,
    // A path parameter the router cannot percent-decode.
    "invalid_request",
    "signature_missing",
    "signature_mismatch",
    `unknown_${source}`,
    "payload_too_large",
    "unsupported_content_type",
    "webhooks_not_configured",
    "secret_store_unavailable",
    "database_unavailable",
  ];

  return [
    {
      method: "post",
      path: `${REPO_WEBHOOK_ROUTE}/:owner/:repo`,
      operationId: "receiveRepoWebhook",
      summary: "A GitHub delivery for one onboarded repository, signed with that repository's secret",
      tag: "webhooks",
      role: "public",
      headers,
      responses,
      errors: rejections("repository"),
      handler: handler(repoSource),
    },
    {
      method: "post",
      path: `${ORG_WEBHOOK_ROUTE}/:org`,
      operationId: "receiveOrgWebhook",
      summary: "A GitHub organization delivery (Projects v2 item events carry no repository), signed with the organization's secret",
      tag: "webhooks",
      role: "public",
      headers,
      responses,
      errors: rejections("organization"),
      handler: handler(orgSource),
    },
  ];
}
