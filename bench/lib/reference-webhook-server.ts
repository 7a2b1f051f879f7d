/**
 * The webhook benchmark's baselines: the least a receiver must do, in its own process as the server is — read
 * the raw body, pick the repo's secret from the URL (all secrets in memory), verify the signature, answer 202
 * (401 otherwise). Two of them:
 * - verify only: @octokit/webhooks, no database, no parsing, no processing;
 * - verify + INSERT (`persist`): @octokit/webhooks-methods' verify, the payload parsed for its action, then one
 *   INSERT of the delivery into a copy of webhook_deliveries on the server's database (a pool of the server's
 *   size), answered once it committed. No Vault, no registry look-up, no processing.
 *
 * Run as a child (fork) by startReferenceWebhookServer; the secrets come over the IPC channel, never through
 * argv or the environment, where `ps` would show them.
 */
import { type ChildProcess, fork } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface RepoSecret {
  owner: string;
  repo: string;
  secret: string;
}

export interface ReferenceWebhookServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Where the persisting reference stores its deliveries: a table shaped as webhook_deliveries (bench/webhooks.ts makes it). */
export interface ReferenceStore {
  databaseUrl: string;
  table: string;
}

const routeOf = (owner: string, repo: string) => `/webhooks/github/${owner}/${repo}`;

async function servePersisting(secrets: RepoSecret[], store: ReferenceStore): Promise<number> {
  const { verify } = await import("@octokit/webhooks-methods");
  const { Pool } = await import("pg");
  const pool = new Pool({ connectionString: store.databaseUrl, max: 10 });
  const repos = new Map(secrets.map((s) => [routeOf(s.owner, s.repo), s]));
  const insert = `INSERT INTO ${store.table} (delivery_id, owner, repo, event, action, payload) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (delivery_id) DO NOTHING`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number) => {
        res.statusCode = status;
        res.end();
      };
      const repo = repos.get(req.url ?? "");
      const signature = req.headers["x-hub-signature-256"];
      if (!repo || typeof signature !== "string") return answer(repo ? 401 : 404);
      const body = Buffer.concat(chunks).toString("utf8");
      verify(repo.secret, body, signature)
        .then(async (ok) => {
          if (!ok) return answer(401);
          const action = (JSON.parse(body) as { action?: unknown }).action;
          await pool.query(insert, [
            req.headers["x-github-delivery"],
            repo.owner,
            repo.repo,
            req.headers["x-github-event"],
            typeof action === "string" ? action : null,
            body,
          ]);
          answer(202);
        })
        .catch(() => answer(500));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function serve(secrets: RepoSecret[]): Promise<number> {
  // ESM-only package, loaded from this CommonJS build with import().
  const { Webhooks } = await import("@octokit/webhooks");
  const verifiers = new Map(secrets.map((s) => [routeOf(s.owner, s.repo), new Webhooks({ secret: s.secret })]));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const verifier = verifiers.get(req.url ?? "");
      const signature = req.headers["x-hub-signature-256"];
      const answer = (status: number) => {
        res.statusCode = status;
        res.end();
      };
      if (!verifier || typeof signature !== "string") return answer(verifier ? 401 : 404);
      verifier.verify(Buffer.concat(chunks).toString("utf8"), signature).then(
        (ok) => answer(ok ? 202 : 401),
        () => answer(401),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

if (require.main === module) {
  // A benchmark that dies must not leave its baseline listening.
  process.once("disconnect", () => process.exit(0));
  process.once("message", (message: { secrets: RepoSecret[]; store?: ReferenceStore }) => {
    (message.store ? servePersisting(message.secrets, message.store) : serve(message.secrets)).then(
      (port) => process.send!({ port }),
      (err: Error) => {
        console.error(`reference webhook server: ${err.message}`);
        process.exit(1);
      },
    );
  });
}

/** Verify only, or with `store` verify + INSERT. */
export async function startReferenceWebhookServer(secrets: RepoSecret[], store?: ReferenceStore): Promise<ReferenceWebhookServer> {
  const child: ChildProcess = fork(__filename, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`the reference webhook server exited (${code}) before listening`)));
    child.send({ secrets, store });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
