import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { ConfigError } from "../../lib/config-error";
import { logLevelFrom, textLogger } from "../../lib/logger";
import { captureLogs, logEntries } from "../../testkit/log-capture";

const TOKEN = "ghp_0123456789abcdefABCDEF";

test("a token field, a password in a URL and an Authorization header each come out as [redacted]", () => {
  const { log, lines } = captureLogs();
  log.info({ token: TOKEN }, "pushed the credentials");
  log.warn("cannot reach postgres://mesh:hunter2@db:5432/state?sslmode=disable");
  log.info({ backend: "postgres://mesh:hunter2@db/x", req: { headers: { authorization: `Bearer ${TOKEN}` } } }, "request");
  log.error({ headers: { Authorization: `Bearer ${TOKEN}` } }, `the agent answered 401 to Bearer ${TOKEN}`);
  log.info({ client: { options: { password: "pw-in-options", clientSecret: "cs-0123456789" } } }, "client");
  const text = lines.join("\n");
  for (const secret of [TOKEN, "hunter2", "pw-in-options", "cs-0123456789"]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
  const [token, url, header, quoted, nested] = logEntries(lines);
  assert.equal(token.token, "[redacted]");
  assert.equal(url.msg, "cannot reach postgres://mesh:[redacted]@db:5432/state?sslmode=disable");
  assert.equal(header.backend, "postgres://mesh:[redacted]@db/x");
  assert.deepEqual(header.req, { headers: { authorization: "[redacted]" } });
  assert.deepEqual(quoted.headers, { Authorization: "[redacted]" });
  assert.equal(quoted.msg, "the agent answered 401 to Bearer [redacted]");
  assert.deepEqual(nested.client, { options: { password: "[redacted]", clientSecret: "[redacted]" } });
});

test("a value the process knows is secret is redacted wherever it appears, even quoted in an error message", () => {
  const apiToken = "mesh-six-api-token-0123456789";
  const { log, lines } = captureLogs({ secrets: [apiToken, "abc"] });
  log.error(`request refused: token ${apiToken.slice(0, 4)}… or ${apiToken} is not known`);
  log.info({ detail: { echoed: `"${apiToken}"` } }, "echo");
  log.info("abc stays: too short to be matched as a secret");
  const [refused, echo, short] = logEntries(lines);
  assert.equal(refused.msg, "request refused: token mesh… or [redacted] is not known");
  assert.deepEqual(echo.detail, { echoed: '"[redacted]"' });
  assert.equal(short.msg, "abc stays: too short to be matched as a secret");
});

test("every line has level, time and msg, and each line of a child carries its run, task or delivery id", () => {
  const { log, lines } = captureLogs();
  const queue = log.child({ component: "queue" });
  queue.child({ runId: "run-1" }).warn("heartbeat failed");
  queue.child({ runId: "run-1" }).error("recording failed");
  log.child({ component: "dispatch" }).child({ taskId: "task-7" }).info("attempt 1 failed");
  log.child({ deliveryId: "d-3" }).error("delivery (issues) failed");
  log.info("listening");
  const entries = logEntries(lines);
  assert.equal(entries.length, lines.length, "every line is one JSON entry");
  for (const e of entries) {
    assert.ok(["info", "warn", "error"].includes(e.level), e.level);
    assert.ok(!Number.isNaN(Date.parse(e.time)) && e.time.endsWith("Z"), e.time);
    assert.equal(typeof e.msg, "string");
  }
  assert.deepEqual(
    entries.map((e) => [e.component, e.runId, e.taskId, e.deliveryId]),
    [
      ["queue", "run-1", undefined, undefined],
      ["queue", "run-1", undefined, undefined],
      ["dispatch", undefined, "task-7", undefined],
      [undefined, undefined, undefined, "d-3"],
      [undefined, undefined, undefined, undefined],
    ],
  );
});

test("MESH_SIX_LOG_LEVEL picks the level (default info); anything else is a configuration error naming it", () => {
  assert.equal(logLevelFrom({}), "info");
  assert.equal(logLevelFrom({ MESH_SIX_LOG_LEVEL: " Debug " }), "debug");
  assert.equal(logLevelFrom({ MESH_SIX_LOG_LEVEL: "silent" }), "silent");
  assert.throws(
    () => logLevelFrom({ MESH_SIX_LOG_LEVEL: "verbose" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^MESH_SIX_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent$/);
      return true;
    },
  );
});

test("the CLI's logger prints each message alone, for people, redacted like the JSON", () => {
  let out = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = textLogger(stream);
  log.child({ runId: "r" }).warn("run events held while postgres://u:pw-123@db/x is unavailable");
  log.debug("not shown at info");
  assert.equal(out, "run events held while postgres://u:[redacted]@db/x is unavailable\n");
});
