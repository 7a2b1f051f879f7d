/**
 * A GitHub emulator of the test's own, in this process, for tests that set faults or token scopes: nothing they
 * do reaches the sandbox's emulator, which other tests share. The calls under test use a token registered for
 * the test (`token`), and faults are scoped to it.
 */
import { randomBytes } from "node:crypto";
import type { RepoRef } from "../domain/names";
import { type GitHubEmulator, startGitHubEmulator } from "../emulators/github/server";
import type { Fault } from "../emulators/github/faults";

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
  const emu: GitHubEmulator = await startGitHubEmulator({ port: 0, token: admin });
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
