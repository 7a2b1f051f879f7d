import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { postgresStateUrl } from "../../pulumi/state-backend";
import { PROJECT_DIR } from "../../pulumi/workspace";
import { runFinished, type ServerProcess, startServerProcess } from "../../testkit/server-process";
import { type RepoRef, stackNameFor } from "../../domain/names";
import { createTestDatabase, type TestDatabase } from "../../testkit/database";
import { createEmulatorRepo, uniqueOwner } from "../../testkit/fault-server";
import type { RunBody } from "../../testkit/server";

// A real file-backend state with several stacks (onboarded by a server on the embedded-style file backend) moved
// into PostgreSQL by `npm run state:migrate`, checked by the command itself (resources, outputs, a preview without
// changes) and again by a server on the database, which finds the stacks onboarded and updates one without change.

const exec = promisify(execFile);
const owner = uniqueOwner("migrate");
const refs: RepoRef[] = ["one", "two", "three"].map((repo) => ({ owner, repo }));
const passphrase = randomBytes(18).toString("base64url");
let stateDir: string;
let db: TestDatabase;
let target: string;
let server: ServerProcess | undefined;

async function runAll(
  s: ServerProcess,
  method: string,
  pathFor: (ref: RepoRef) => string,
  json?: (ref: RepoRef) => unknown,
): Promise<RunBody[]> {
  const ids = [];
  for (const ref of refs) {
    const res = await s.request(pathFor(ref), { method, ...(json ? { json: json(ref) } : {}) });
    assert.ok(res.status === 202, `${method} ${pathFor(ref)}: ${res.status} ${await res.clone().text()}`);
    ids.push(((await res.json()) as { runId: string }).runId);
  }
  return Promise.all(ids.map((id) => runFinished(s, id)));
}

function migrateCommand(): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(process.execPath, ["--import", "tsx", "cli/state-migrate.ts", "--from", `file://${stateDir}`, "--to", target], {
    cwd: PROJECT_DIR,
    env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_BACKEND_URL: undefined },
    timeout: 5 * 60_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

before(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-migrate-state-"));
  db = await createTestDatabase("migrate");
  target = postgresStateUrl(db.url);
  for (const ref of refs) await createEmulatorRepo(ref);
});

after(async () => {
  await server?.kill();
  // The file-backend server kept its stacks' settings files in the project, as a CLI user's checkout has them.
  for (const ref of refs) await rm(path.join(PROJECT_DIR, `Pulumi.${stackNameFor(ref)}.yaml`), { force: true });
  await db?.drop();
  await rm(stateDir, { recursive: true, force: true });
});

test(
  "three stacks of a file backend move into PostgreSQL with their history, verified, and a second run copies nothing",
  { timeout: 12 * 60_000 },
  async (t) => {
    const common = {
      DATABASE_URL: db.url,
      MESH_SIX_PUBLIC_URL: "https://mesh-six.example.test",
      MESH_SIX_DRIFT_CHECK_INTERVAL_MS: "0",
      MESH_SIX_POLL_MS: "200",
    };
    const fileServer = await startServerProcess({
      env: { ...common, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: passphrase },
    });
    try {
      const onboarded = await runAll(
        fileServer,
        "POST",
        () => "/v1/onboardings",
        (ref) => ({ ...ref, skipAuth: true }),
      );
      for (const run of onboarded) assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
    } finally {
      await fileServer.stop();
    }

    const first = await migrateCommand();
    t.diagnostic(`first migration (exit ${first.code}):\n${first.stdout}`);
    assert.equal(first.code, 0, first.stderr);
    for (const ref of refs) {
      assert.match(
        first.stdout,
        new RegExp(
          `^${stackNameFor(ref).replace(".", "\\.")}: copied \\d+ of \\d+ blobs; settings moved to the database; verified: \\d+ resources with the same outputs; preview: \\d+ same, no changes$`,
          "m",
        ),
      );
    }
    const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pulumi_state WHERE key LIKE '%.pulumi/history/%'");
    assert.ok(rows[0].n >= refs.length * 2, `the stacks' history came along (${rows[0].n} history blobs)`);

    const second = await migrateCommand();
    t.diagnostic(`second migration (exit ${second.code}):\n${second.stdout}`);
    assert.equal(second.code, 0, second.stderr);
    for (const ref of refs) assert.match(second.stdout, new RegExp(`^${stackNameFor(ref).replace(".", "\\.")}: already there`, "m"));
  },
);

test(
  "a stack the target already holds with different state is refused, and nothing of it is overwritten",
  { timeout: 5 * 60_000 },
  async (t) => {
    // The backend prefixes each key with the database's name (the URL's path).
    const key = `${new URL(db.url).pathname.slice(1)}/.pulumi/stacks/mesh-six/${stackNameFor(refs[1])}.json`;
    const before = await db.pool.query<{ data: string }>("SELECT data::text AS data FROM pulumi_state WHERE key = $1", [key]);
    const tampered = JSON.stringify({ data: Buffer.from('{"version":3,"checkpoint":{}}').toString("base64") });
    await db.pool.query("UPDATE pulumi_state SET data = $2::json WHERE key = $1", [key, tampered]);
    const result = await migrateCommand();
    t.diagnostic(`migration onto a changed target (exit ${result.code}):\n${result.stdout}`);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      new RegExp(
        `^${stackNameFor(refs[1]).replace(".", "\\.")}: refused: the target already has ${key.split("/").slice(1).join("/").replaceAll(".", "\\.")} with different contents$`,
        "m",
      ),
    );
    const now = await db.pool.query<{ data: string }>("SELECT data::text AS data FROM pulumi_state WHERE key = $1", [key]);
    assert.equal(JSON.parse(now.rows[0].data).data, JSON.parse(tampered).data, "the target's state is left as it was");
    await db.pool.query("UPDATE pulumi_state SET data = $2::json WHERE key = $1", [key, before.rows[0].data]);
  },
);

test(
  "a server on the database finds the migrated stacks, updates them without change and offboards them",
  { timeout: 8 * 60_000 },
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mesh-six-migrated-"));
    try {
      server = await startServerProcess({
        cwd: dir,
        env: {
          DATABASE_URL: db.url,
          PULUMI_BACKEND_URL: undefined,
          MESH_SIX_SECRETS_PROVIDER: "passphrase",
          PULUMI_CONFIG_PASSPHRASE: passphrase,
          MESH_SIX_PUBLIC_URL: "https://mesh-six.example.test",
          MESH_SIX_DRIFT_CHECK_INTERVAL_MS: "0",
          MESH_SIX_POLL_MS: "200",
        },
      });
      const updates = await runAll(
        server,
        "POST",
        () => "/v1/onboardings",
        (ref) => ({ ...ref, skipAuth: true }),
      );
      for (const run of updates) {
        assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
        assert.equal(run.kind, "update");
        // Identical request, but the state now lives elsewhere: not up-to-date, so the stacks are proved readable there.
        assert.equal(run.outcome, "applied");
        assert.ok(run.fingerprint?.reasons.includes("state changed: backend"), JSON.stringify(run.fingerprint?.reasons));
        assert.deepEqual(
          Object.entries(run.changeSummary ?? {}).filter(([op, n]) => op !== "same" && n > 0),
          [],
        );
      }
      const offboarded = await runAll(server, "DELETE", (ref) => `/v1/repos/${ref.owner}/${ref.repo}`);
      for (const run of offboarded) assert.equal(run.status, "succeeded", `${run.failedStep}: ${run.failureReason}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
