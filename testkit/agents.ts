import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { vaultWebhookPath } from "../domain/names";
import type { TestServer } from "./server";

/** What an agent endpoint does with a delivery. */
export type AgentBehaviour = "accept" | "fail" | "hang";

export interface Delivery {
  /** The request body exactly as it arrived. */
  raw: string;
  /** When it arrived (this process's performance.now()). */
  at: number;
  body: {
    taskId: string;
    capability: string;
    repo: string;
    authProjectId: string | null;
    payload: unknown;
    priority: number;
    timeoutMs: number;
  };
}

export interface TestAgent {
  url: string;
  /** Every delivery received, in order. */
  received: Delivery[];
  behaviour: AgentBehaviour;
  close(): Promise<void>;
}

/** A small agent endpoint on a real socket that records what it receives and answers as told. */
export async function startAgent(behaviour: AgentBehaviour = "accept"): Promise<TestAgent> {
  const agent: TestAgent = {
    url: "",
    received: [],
    behaviour,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      agent.received.push({ raw, at: performance.now(), body: JSON.parse(raw) as Delivery["body"] });
      if (agent.behaviour === "hang") return; // never answers: the dispatcher's timeout must fire
      res.statusCode = agent.behaviour === "fail" ? 500 : 202;
      res.end(agent.behaviour === "fail" ? "boom" : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  agent.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tasks`;
  agent.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return agent;
}

/** Registers an agent through the API; returns its id. */
export async function registerAgent(
  srv: Pick<TestServer, "request">,
  name: string,
  endpoint: string,
  capabilities: Record<string, number>,
  extra: { githubLogin?: string } = {},
): Promise<string> {
  const res = await srv.request("/v1/agents", { method: "POST", json: { name, endpoint, capabilities, ...extra } });
  if (res.status !== 201) throw new Error(`POST /v1/agents: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { agentId: string }).agentId;
}

/** A registry row for owner/repo with its auth-service project. */
export async function registerRepo(srv: Pick<TestServer, "db">, owner: string, repo: string, authProjectId: string): Promise<void> {
  await srv.db.pool.query(
    `INSERT INTO repo_registry (full_name, owner, repo, stack_name, display_name, default_branch, webhook_secret_path, env_statefulset, env_namespace, auth_project_id)
     VALUES ($1, $2, $3, $4, $3, 'main', $5, $6, 'mesh-six', $7)`,
    [`${owner}/${repo}`, owner, repo, `${owner}.${repo}`, vaultWebhookPath({ owner, repo }), `env-${owner}-${repo}`, authProjectId],
  );
}

export interface TaskBody {
  id: string;
  state: string;
  deliveryStatus: string;
  payload: unknown;
  priority: number;
  timeoutMs: number;
  attempts: {
    attempt: number;
    agentId: string | null;
    agentName: string | null;
    outcome: string | null;
    error: string | null;
    finishedAt: string | null;
  }[];
  result: unknown;
  error: string | null;
}

export async function createTask(srv: Pick<TestServer, "request">, body: Record<string, unknown>): Promise<string> {
  const res = await srv.request("/v1/tasks", { method: "POST", json: body });
  if (res.status !== 202) throw new Error(`POST /v1/tasks: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { taskId: string }).taskId;
}

export async function getTask(srv: TestServer, id: string): Promise<TaskBody> {
  const res = await srv.request(`/v1/tasks/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/tasks/${id}: ${res.status}`);
  return (await res.json()) as TaskBody;
}
