import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { Client, DatabaseError } from "pg";
import { isDatabaseUnavailable, retryWhileDatabaseUnavailable } from "../../db/database-availability";

function databaseError(code: string): DatabaseError {
  const err = new DatabaseError("from the server", 0, "error");
  err.code = code;
  return err;
}

test("connection exceptions, shutdown and too many connections mean unavailable; refused statements do not", () => {
  for (const code of ["08006", "08001", "57P01", "57P02", "57P03", "53300"])
    assert.equal(isDatabaseUnavailable(databaseError(code)), true, code);
  for (const code of ["22P05", "23505", "40001", "42P01", "57014"]) assert.equal(isDatabaseUnavailable(databaseError(code)), false, code);
  assert.equal(isDatabaseUnavailable(new Error("Connection terminated unexpectedly")), true);
  assert.equal(isDatabaseUnavailable(new Error("timeout exceeded when trying to connect")), true);
  assert.equal(isDatabaseUnavailable(new AggregateError([Object.assign(new Error("a"), { code: "ECONNREFUSED" })])), true);
  assert.equal(isDatabaseUnavailable(new AggregateError([])), false);
  assert.equal(isDatabaseUnavailable(new Error('relation "runs" does not exist')), false);
  assert.equal(isDatabaseUnavailable(undefined), false);
  assert.equal(isDatabaseUnavailable("ECONNREFUSED"), false);
});

test("what node-postgres really throws for a closed port and for a server that hangs up counts as unavailable", async () => {
  const closed = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const refusedErr = await new Client({ host: "127.0.0.1", port: closed, user: "x", database: "x" }).connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(refusedErr, "connecting to a closed port fails");
  assert.equal(isDatabaseUnavailable(refusedErr), true, String(refusedErr));

  const hangUp = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => hangUp.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = hangUp.address() as { port: number };
    const droppedErr = await new Client({ host: "127.0.0.1", port, user: "x", database: "x" }).connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(droppedErr, "a server that hangs up fails the connect");
    assert.equal(isDatabaseUnavailable(droppedErr), true, String(droppedErr));
  } finally {
    hangUp.close();
  }
});

test("retryWhileDatabaseUnavailable retries until the deadline, and not at all for other errors", async () => {
  let calls = 0;
  const value = await retryWhileDatabaseUnavailable(
    async () => {
      if (++calls < 3) throw databaseError("57P03");
      return "ok";
    },
    { deadline: () => Date.now() + 10_000, startingDelayMs: 1, maxDelayMs: 2 },
  );
  assert.deepEqual([value, calls], ["ok", 3]);

  calls = 0;
  await assert.rejects(
    retryWhileDatabaseUnavailable(
      async () => {
        calls++;
        throw databaseError("23505");
      },
      { deadline: () => Date.now() + 10_000, startingDelayMs: 1 },
    ),
    { code: "23505" },
  );
  assert.equal(calls, 1);

  calls = 0;
  const deadline = Date.now() + 40;
  await assert.rejects(
    retryWhileDatabaseUnavailable(
      async () => {
        calls++;
        throw databaseError("08006");
      },
      { deadline: () => deadline, startingDelayMs: 1, maxDelayMs: 5 },
    ),
    { code: "08006" },
  );
  assert.ok(calls > 1 && Date.now() >= deadline, `retried until the deadline (${calls} calls)`);
});
