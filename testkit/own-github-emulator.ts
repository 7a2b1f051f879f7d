/**
 * A GitHub emulator of the test's own (emulators/github/main.ts as a child process, as the sandbox runs it), for
 * tests that set faults or token scopes: nothing they do reaches the sandbox's emulator, which other tests share.
 * The calls under test use a token registered for the test (`token`), and faults are scoped to it.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { RepoRef } from "../domain/names";
import { TSX_LOADER } from "./server-process";

/** A fault as `GET /_emulator/faults` lists it (emulators/github/faults.ts). */
export interface Fault {
  id: string;
  kind: string;
  status: number;
  remaining: number;
  served: number;
  servedByStatus: Record<string, number>;
}

const LISTENING = /listening on (http:\/\/\S+)/;

async function startEmulatorProcess(token: string): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, path.resolve(__dirname, "../emulators/github/main.ts")], {
    env: { ...process.env, GITHUB_EMULATOR_TOKEN: token, GITHUB_EMULATOR_PORT: "0", GITHUB_EMULATOR_STATE: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.once("exit", () => child.kill("SIGKILL"));
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the GitHub emulator did not start: ${output.join("")}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      output.push(chunk.toString());
      const found = LISTENING.exec(output.join(""))?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then(() => reject(new Error(`the GitHub emulator exited: ${output.join("")}`)));
  });
  return {
    url,
    close: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface OwnGitHub {
  url: string;
  /** The token the code under test uses (GITHUB_TOKEN in `env`). */
  token: string;
  /** What a server process or the Pulumi CLI needs to reach this emulator. */
  env: { GITHUB_API_URL: string; GITHUB_GRAPHQL_URL: string; GITHUB_TOKEN: string };
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** An initialised repository (its default branch exists), unless `extra` says otherwise. */
  createRepo(ref: RepoRef, extra?: Record<string, unknown>): Promise<void>;
  /** Sets the scopes or permissions of `token` (POST /_emulator/tokens). */
  setToken(registration: Record<string, unknown>): Promise<void>;
  /** A fault for `token`'s requests only. */
  fault(spec: Record<string, unknown>): Promise<Fault>;
  /** Refusals served so far, by HTTP status (a GraphQL primary limit is a 200). */
  served(): Promise<Record<string, number>>;
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnGitHub(): Promise<OwnGitHub> {
  const admin = randomBytes(18).toString("base64url");
  const token = randomBytes(18).toString("base64url");
  const emu = await startEmulatorProcess(admin);
  const control = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${emu.url}${path}`, {
      method,
      headers: { authorization: `token ${admin}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const expect = async (what: string, answer: Promise<{ status: number; body: unknown }>) => {
    const { status, body } = await answer;
    if (status >= 300) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
    return body;
  };
  const own: OwnGitHub = {
    url: emu.url,
    token,
    env: { GITHUB_API_URL: emu.url, GITHUB_GRAPHQL_URL: `${emu.url}/graphql`, GITHUB_TOKEN: token },
    control,
    async createRepo(ref, extra = {}) {
      await expect(
        `creating ${ref.owner}/${ref.repo}`,
        control("POST", "/_emulator/repos", { owner: ref.owner, name: ref.repo, owner_type: "Organization", auto_init: true, ...extra }),
      );
    },
    async setToken(registration) {
      await expect("registering the token", control("POST", "/_emulator/tokens", { ...registration, token }));
    },
    async fault(spec) {
      return (await expect("setting a fault", control("POST", "/_emulator/faults", { ...spec, token }))) as Fault;
    },
    async served() {
      const { body } = await control<Fault[]>("GET", "/_emulator/faults");
      const byStatus: Record<string, number> = {};
      for (const f of body) for (const [status, n] of Object.entries(f.servedByStatus)) byStatus[status] = (byStatus[status] ?? 0) + n;
      return byStatus;
    },
    async clearFaults() {
      await expect("clearing the faults", control("DELETE", "/_emulator/faults", { token }));
    },
    close: () => emu.close(),
  };
  await own.setToken({});
  return own;
}
