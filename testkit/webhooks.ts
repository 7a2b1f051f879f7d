import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type { Pool } from "pg";
import type { WebhookConfig } from "../server/config";
import { vaultWebhookPath } from "../domain/names";
import { startTestServer, type TestServer, type TestServerOptions, waitFor } from "./server";
import { writeVaultSecret } from "./vault-api";

/** Webhook settings over the sandbox's Vault, with `overrides`. */
export function webhookConfig(overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  const addr = process.env.VAULT_ADDR;
  const token = process.env.VAULT_TOKEN;
  if (!addr || !token) throw new Error("VAULT_ADDR/VAULT_TOKEN not set: start the sandbox and source .sandbox/env");
  return { vaultAddr: addr, vaultToken: token, vaultMount: "secret", secretTtlMs: 5 * 60_000, maxBodyBytes: 1024 * 1024, ...overrides };
}

let vaultChecked = false;

/** Fails with a clear message when the sandbox's Vault is down, instead of a test full of 503s. */
async function requireVault(addr: string): Promise<void> {
  if (vaultChecked) return;
  const res = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(3000) }).catch((err: Error) => err);
  if (res instanceof Error || !res.ok) {
    throw new Error(`Vault at ${addr} is not reachable or not unsealed: start the sandbox (scripts/sandbox up vault)`);
  }
  vaultChecked = true;
}

export async function startWebhookServer(opts: TestServerOptions & { webhooks?: Partial<WebhookConfig> } = {}): Promise<TestServer> {
  const { webhooks, ...rest } = opts;
  const config = webhookConfig(webhooks);
  await requireVault(config.vaultAddr);
  return startTestServer({ startQueue: false, ...rest, config: { ...rest.config, webhooks: config } });
}

export const newSecret = () => randomBytes(20).toString("hex");

/** An owner no other test (or earlier run against the same Vault) uses. */
export const uniqueOwner = (prefix = "hooks") => `${prefix}-${randomBytes(5).toString("hex")}`;

export interface RegisteredRepo {
  owner: string;
  repo: string;
  fullName: string;
  secret: string;
  url: string;
}

export interface RegistryFields {
  labels?: string[];
  allowedAuthors?: string[];
  projectId?: string;
  statusFieldId?: string;
  statusOptions?: Record<string, string>;
  /** The registry's filters column as the stack writes it; absent: the column default ('{}', read as the defaults). */
  filters?: Record<string, unknown>;
}

/** A registry row for a fresh repo and its webhook secret in Vault (unless `secret` is null). */
export async function registerRepo(
  srv: Pick<TestServer, "db">,
  fields: RegistryFields = {},
  secret: string | null = newSecret(),
  owner = uniqueOwner(),
): Promise<RegisteredRepo> {
  const repo = "Widgets";
  const fullName = `${owner}/${repo}`;
  await srv.db.pool.query(
    `INSERT INTO repo_registry (full_name, owner, repo, stack_name, display_name, default_branch, webhook_secret_path,
       env_statefulset, env_namespace, labels, allowed_authors, project_id, status_field_id, status_options, filters)
     VALUES ($1, $2, $3, $4, $5, 'main', $6, 'env-x', 'mesh-six', $7, $8, $9, $10, $11, $12)`,
    [
      fullName,
      owner,
      repo,
      `${owner}.${repo}`.toLowerCase(),
      repo,
      vaultWebhookPath({ owner, repo }),
      JSON.stringify(fields.labels ?? ["mesh-six"]),
      JSON.stringify(fields.allowedAuthors ?? []),
      fields.projectId ?? null,
      fields.statusFieldId ?? null,
      JSON.stringify(fields.statusOptions ?? {}),
      JSON.stringify(fields.filters ?? {}),
    ],
  );
  if (secret !== null) await writeVaultSecret(vaultWebhookPath({ owner, repo }), { secret });
  return { owner, repo, fullName, secret: secret ?? "", url: `/webhooks/github/${owner}/${repo}` };
}

export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface Delivery {
  event?: string | null;
  deliveryId?: string | null;
  /** Signs the body with this secret; `signature` sends one as given; neither: no signature header. */
  secret?: string;
  signature?: string;
  contentType?: string;
}

/** POSTs a delivery as GitHub would (no bearer token). */
export async function deliver(
  srv: Pick<TestServer, "request">,
  path: string,
  body: string | Buffer,
  d: Delivery = {},
): Promise<{ status: number; json: Record<string, unknown>; deliveryId: string }> {
  const deliveryId = d.deliveryId === undefined ? randomUUID() : d.deliveryId;
  const headers: Record<string, string> = { "content-type": d.contentType ?? "application/json", "user-agent": "GitHub-Hookshot/test" };
  if (d.event !== null) headers["x-github-event"] = d.event ?? "ping";
  if (deliveryId !== null) headers["x-github-delivery"] = deliveryId;
  const signature = d.signature ?? (d.secret ? sign(d.secret, body) : undefined);
  if (signature) headers["x-hub-signature-256"] = signature;
  const res = await srv.request(path, {
    method: "POST",
    token: null,
    headers,
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, deliveryId: deliveryId ?? "" };
}

export interface DeliveryRow {
  delivery_id: string;
  owner: string;
  repo: string | null;
  event: string;
  action: string | null;
  status: string;
  reason: string | null;
  error: string | null;
  processed_at: Date | null;
}

export async function deliveryRow(srv: { db: { pool: Pool } }, deliveryId: string): Promise<DeliveryRow | undefined> {
  const { rows } = await srv.db.pool.query<DeliveryRow>("SELECT * FROM webhook_deliveries WHERE delivery_id = $1", [deliveryId]);
  return rows[0];
}

/** The delivery's row once processing finished with it. */
export function processedRow(srv: { db: { pool: Pool } }, deliveryId: string): Promise<DeliveryRow> {
  return waitFor(async () => {
    const row = await deliveryRow(srv, deliveryId);
    return row && row.status !== "received" ? row : undefined;
  }, `delivery ${deliveryId} to be processed`);
}

export interface WorkItemRow {
  delivery_id: string;
  owner: string;
  repo: string;
  kind: string;
  issue_number: number | null;
  payload: Record<string, unknown>;
  task_id: string | null;
}

/** The dispatch task a work item became. */
export async function taskOf(
  srv: TestServer,
  item: WorkItemRow,
): Promise<{ capability: string; owner: string; repo: string; payload: Record<string, unknown> }> {
  // The payload is kept as the JSON text it was given (migration 012): parsed here for the assertions.
  const { rows } = await srv.db.pool.query("SELECT capability, owner, repo, payload::json AS payload FROM tasks WHERE id = $1", [
    item.task_id,
  ]);
  return rows[0];
}

export async function workItems(srv: { db: { pool: Pool } }, deliveryId?: string): Promise<WorkItemRow[]> {
  const { rows } = await srv.db.pool.query<WorkItemRow>(
    `SELECT delivery_id, owner, repo, kind, issue_number, payload, task_id FROM webhook_work_items ${deliveryId ? "WHERE delivery_id = $1" : ""} ORDER BY id`,
    deliveryId ? [deliveryId] : [],
  );
  return rows;
}

/** A minimal payload GitHub would send for `repo` (its `repository` names it). */
export function repoPayload(fullName: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ repository: { full_name: fullName }, sender: { login: "octocat" }, ...extra });
}

export function issuePayload(
  fullName: string,
  opts: { action?: string; labels?: string[]; author?: string; number?: number; added?: string; nodeId?: string } = {},
): string {
  return repoPayload(fullName, {
    action: opts.action ?? "opened",
    issue: {
      number: opts.number ?? 7,
      title: "Make widgets faster",
      body: "Please",
      state: "open",
      html_url: `https://github.com/${fullName}/issues/${opts.number ?? 7}`,
      user: { login: opts.author ?? "octocat" },
      labels: (opts.labels ?? []).map((name) => ({ name })),
      ...(opts.nodeId ? { node_id: opts.nodeId } : {}),
    },
    ...(opts.added ? { label: { name: opts.added } } : {}),
  });
}
