/**
 * The webhook benchmark's baseline: the least a receiver must do, in its own process as the server is — read
 * the raw body, pick the repo's secret from the URL (all secrets in memory), verify the signature with
 * @octokit/webhooks, answer 202 (401 otherwise). No Vault, no database, no parsing, no processing.
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
  stop(): Promise<void>;
}

const routeOf = (owner: string, repo: string) => `/webhooks/github/${owner}/${repo}`;

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
  process.once("message", (message: { secrets: RepoSecret[] }) => {
    serve(message.secrets).then(
      (port) => process.send!({ port }),
      (err: Error) => {
        console.error(`reference webhook server: ${err.message}`);
        process.exit(1);
      },
    );
  });
}

export async function startReferenceWebhookServer(secrets: RepoSecret[]): Promise<ReferenceWebhookServer> {
  const child: ChildProcess = fork(__filename, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`the reference webhook server exited (${code}) before listening`)));
    child.send({ secrets });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
