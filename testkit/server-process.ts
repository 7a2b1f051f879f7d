/**
 * The onboarding server as a real child process (server/main.ts), for the main job, the fault tests and the
 * benchmarks: they need what an in-process app cannot give them (SIGKILL mid-run, a restart on the same
 * database and state, the process's own memory).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { type RunBody, waitFor } from "./server";

const ROOT = path.resolve(__dirname, "..");
export const TSX_LOADER = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

/**
 * Node's flags for the server process, here and in the image's CMD (a unit test holds the two together). A young
 * generation of up to 32 MiB per semi-space (V8's default: 16) halves the scavenges of a delivery's parsed payload and
 * a task's request: the server's CPU per webhook delivery fell 10-18 % (bench/run webhooks, CPU per delivery), for
 * about 30 MiB more resident at its peak.
 */
export const SERVER_NODE_FLAGS = ["--max-semi-space-size=32"];

export interface ServerProcessOptions {
  /** Added to (and overriding) the parent's environment; a key set to undefined is removed. */
  env?: Record<string, string | undefined>;
  /** 0 (default) picks a free port, read back from the server's "listening on :PORT" line. */
  port?: number;
  /** The API token (default: a fresh random one). */
  token?: string;
  /** Pass the child's stderr through to ours as well as recording it. */
  echo?: boolean;
  readyTimeoutMs?: number;
  /** The working directory (default: the project). A new pod's is as good as empty: nothing a previous process wrote. */
  cwd?: string;
  /** The environment `env` is applied to (default: this process's); a container's is only what it declares. */
  baseEnv?: NodeJS.ProcessEnv;
  /** The command and its arguments (default: node with tsx on server/main.ts, as the image's CMD). */
  command?: string[];
}

export interface ServerProcess {
  url: string;
  token: string;
  pid: number;
  child: ChildProcess;
  /** Every line the process wrote to stdout or stderr, in order. */
  logs: string[];
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
  /** SIGTERM, then waits for the exit (a graceful stop: runs go back to the queue). */
  stop(): Promise<number | string>;
  /** SIGKILL to its whole process group: it dies where it stands, with its Pulumi processes, as a pod would. */
  kill(): Promise<number | string>;
  /** fetch against the server with its bearer token. */
  request(pathname: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

const LISTENING = /listening on :(\d+)/;

export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const env: NodeJS.ProcessEnv = { ...(opts.baseEnv ?? process.env), PORT: String(opts.port ?? 0), MESH_SIX_API_TOKENS: token };
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  // Its own process group, so that kill() takes the Pulumi processes it started down with it, as a pod's death would.
  // The loader by its path, so that it is found from any working directory.
  const [file, ...args] = opts.command ?? [
    process.execPath,
    ...SERVER_NODE_FLAGS,
    "--import",
    TSX_LOADER,
    path.join(ROOT, "server/main.ts"),
  ];
  const child = spawn(file, args, {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const logs: string[] = [];
  let port: number | undefined;
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        logs.push(line);
        if (opts.echo) process.stderr.write(`${line}\n`);
        port ??= Number(LISTENING.exec(line)?.[1]) || undefined;
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let gone = false;
  // Detached, it would outlive a parent that dies first; the hook goes with the child (a benchmark starts dozens).
  const killOnExit = () => {
    if (!gone) process.kill(-child.pid!, "SIGKILL");
  };
  process.once("exit", killOnExit);
  void exited.then(() => {
    gone = true;
    process.off("exit", killOnExit);
  });

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (gone) throw new Error(`the server exited before it was ready:\n${logs.slice(-20).join("\n")}`);
    if (port !== undefined) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the server was not ready within ${opts.readyTimeoutMs ?? 60_000} ms:\n${logs.slice(-20).join("\n")}`);
    }
    await sleep(100);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    token,
    pid: child.pid!,
    child,
    logs,
    exited,
    stop() {
      if (!gone) child.kill("SIGTERM");
      return exited;
    },
    kill() {
      if (!gone) process.kill(-child.pid!, "SIGKILL");
      return exited;
    },
    request(pathname, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("authorization", `Bearer ${token}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      return fetch(`${url}${pathname}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
    },
  };
}

/**
 * The run once it is terminal, read through the server's API. Polled every 500 ms: a Pulumi run takes seconds, so there is
 * no need to load the server while it works.
 */
export function runFinished(server: Pick<ServerProcess, "request">, runId: string, timeoutMs = 5 * 60_000): Promise<RunBody> {
  return waitFor(
    async () => {
      const run = (await (await server.request(`/v1/runs/${runId}`)).json()) as RunBody;
      return ["succeeded", "failed", "cancelled"].includes(run.status) ? run : undefined;
    },
    `run ${runId} to finish`,
    timeoutMs,
    500,
  );
}
