import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ConfigError } from "../../lib/config-error";
import { createRun } from "../../runs/run-store";
import { startEmbeddedDatabase } from "../../db/embedded";
import { listenForWakeups } from "../../db/wakeups";
import { createTestDatabase, type TestDatabase } from "../../testkit/database";
import { quietLogger } from "../../testkit/log-capture";

const dbs: TestDatabase[] = [];
after(async () => Promise.all(dbs.map((d) => d.drop())));

function nextCall(): { promise: Promise<string>; call: (what: string) => void } {
  let call!: (what: string) => void;
  const promise = new Promise<string>((resolve) => (call = resolve));
  return { promise, call };
}

test("a run stored by one process wakes another's listener at once, without waiting for a poll", async () => {
  const db = await createTestDatabase("wake");
  dbs.push(db);
  const woke: string[] = [];
  let wake = nextCall();
  const listener = listenForWakeups(db.url, { mesh_six_runs: () => (woke.push("runs"), wake.call("runs")) }, quietLogger());
  try {
    await wake.promise; // the listener wakes once when it starts listening, for work stored while nobody listened
    wake = nextCall();
    const before = woke.length;
    await createRun(db.pool, {
      kind: "onboard",
      owner: "acme",
      repo: "widgets",
      stackName: "acme.widgets",
      request: { owner: "acme", repo: "widgets" },
    });
    assert.equal(await Promise.race([wake.promise, new Promise((r) => setTimeout(() => r("timeout"), 5000))]), "runs");
    assert.equal(woke.length, before + 1);
  } finally {
    await listener.stop();
  }
});

test("a listener whose connection is cut listens again and wakes for what came meanwhile", async () => {
  const db = await createTestDatabase("wake");
  dbs.push(db);
  let wake = nextCall();
  const listener = listenForWakeups(db.url, { mesh_six_runs: () => wake.call("runs") }, quietLogger());
  try {
    await wake.promise;
    wake = nextCall();
    await db.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    // Back within its backoff; on reconnecting it wakes its workers once, and later notifications arrive again.
    assert.equal(await Promise.race([wake.promise, new Promise((r) => setTimeout(() => r("timeout"), 10_000))]), "runs");
    wake = nextCall();
    await createRun(db.pool, {
      kind: "onboard",
      owner: "acme",
      repo: "gadgets",
      stackName: "acme.gadgets",
      request: { owner: "acme", repo: "gadgets" },
    });
    assert.equal(await Promise.race([wake.promise, new Promise((r) => setTimeout(() => r("timeout"), 5000))]), "runs");
  } finally {
    await listener.stop();
  }
});

test("the embedded database serves one process: a second one is refused naming DATABASE_URL, and a stale lock is taken over", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-pglite-"));
  try {
    const first = await startEmbeddedDatabase({ dataDir: dir });
    await assert.rejects(startEmbeddedDatabase({ dataDir: dir }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, "DATABASE_URL");
      assert.match(err.message, new RegExp(`in use by process ${process.pid}`));
      return true;
    });
    await first.stop();
    // A lock left by a process that died (kill -9 leaves it behind) does not keep the next server out.
    const dead = spawnSync("true").pid;
    writeFileSync(path.join(dir, "mesh-six-server.lock"), JSON.stringify({ pid: dead, host: hostname() }));
    const again = await startEmbeddedDatabase({ dataDir: dir });
    await again.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
