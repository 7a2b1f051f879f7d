/**
 * The main job's second half (scripts/main runs it after the toolchain and the sandbox are up): starts the
 * onboarding server on its embedded defaults (PGlite, the local file state backend), creates a sample
 * repository in the sandbox's GitHub emulator, onboards it over HTTP while printing the run's event stream,
 * and then keeps serving (Ctrl-C stops it) unless --once is given.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { RunEvent } from "../../domain/runs";
import { progressLine } from "../../cli/progress";
import { readSse } from "../../server/sse";
import { startServerProcess } from "../../testkit/server-process";

const ROOT = path.resolve(__dirname, "../..");
const once = process.argv.includes("--once");
const port = Number(process.env.MESH_SIX_MAIN_PORT ?? 8080);
const base = `http://127.0.0.1:${port}`;
const sample = { owner: "mesh-six-sandbox", repo: "sample-app", displayName: "Sample App" };
let stopServer = () => {};

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/main (it starts the sandbox and reads .sandbox/env)`);
  return value;
}

async function main(): Promise<number> {
  // The API token is written where the user can read it, never printed.
  const token = randomBytes(24).toString("base64url");
  const tokenFile = path.join(process.env.MESH_SIX_SANDBOX_DIR ?? path.join(ROOT, ".sandbox"), "api-token");
  mkdirSync(path.dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

  // Embedded defaults: no DATABASE_URL, so the server runs PGlite; no PULUMI_BACKEND_URL, so the file backend.
  const server = await startServerProcess({
    port,
    token,
    echo: true,
    env: { MESH_SIX_PUBLIC_URL: base, DATABASE_URL: undefined, PULUMI_BACKEND_URL: undefined },
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n(is port ${port} taken? set MESH_SIX_MAIN_PORT)`);
  });
  stopServer = () => void server.stop();
  process.on("SIGINT", stopServer);
  process.on("SIGTERM", stopServer);
  const serverExit = server.exited.then((code) => (typeof code === "number" ? code : 1));
  console.log(`[main] server ready on ${base} (API token in ${tokenFile})`);

  const github = requireEnv("GITHUB_API_URL");
  const created = await fetch(`${github}/_emulator/repos`, {
    method: "POST",
    headers: { Authorization: `token ${requireEnv("GITHUB_EMULATOR_TOKEN")}`, "Content-Type": "application/json" },
    body: JSON.stringify({ owner: sample.owner, name: sample.repo, owner_type: "Organization", auto_init: true }),
  });
  // 422: it is there from an earlier run, which is fine: onboarding it again is an update.
  if (!created.ok && created.status !== 422) throw new Error(`creating the sample repository: HTTP ${created.status}`);

  const auth = { Authorization: `Bearer ${token}` };
  const accepted = await fetch(`${base}/v1/onboardings`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ ...sample, skipAuth: true }),
  });
  const run = (await accepted.json()) as { runId: string };
  if (accepted.status !== 202) throw new Error(`onboarding refused: HTTP ${accepted.status} ${JSON.stringify(run)}`);
  console.log(`[main] onboarding ${sample.owner}/${sample.repo}: run ${run.runId}`);

  for await (const event of readSse(await fetch(`${base}/v1/runs/${run.runId}/events`, { headers: auth }))) {
    const message = JSON.parse(event.data) as { type: string; data: Record<string, unknown> };
    const line =
      message.type === "status"
        ? `-- ${String(message.data.status)}${message.data.step ? ` (${String(message.data.step)})` : ""}`
        : progressLine({ type: message.type, ...message.data } as RunEvent);
    if (line) console.log(line);
  }
  const final = (await (await fetch(`${base}/v1/runs/${run.runId}`, { headers: auth })).json()) as Record<string, unknown>;
  console.log(`[main] run ${final.status}${final.failureReason ? `: ${final.failureReason}` : ""}`);
  console.log(JSON.stringify({ outputs: final.outputs, changeSummary: final.changeSummary }, null, 2));
  const ok = final.status === "succeeded";

  if (once) {
    stopServer();
    await serverExit;
    return ok ? 0 : 1;
  }
  console.log(`[main] the server keeps running on ${base}; Ctrl-C stops it`);
  return (await serverExit) === 0 && ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`[main] ${err.message}`);
    stopServer();
    process.exit(1);
  },
);
