import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { test } from "node:test";
import { answerClientError } from "../../server/client-errors";
import { errorHandler } from "../../server/errors";
import { captureLogs, logEntries } from "../../testkit/log-capture";

/** A socket that records what is written to it. */
function fakeSocket(opts: { headersSent?: boolean } = {}) {
  const written: string[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk.toString("latin1"));
      cb();
    },
  });
  if (opts.headersSent !== undefined) Object.assign(socket, { _httpMessage: { headersSent: opts.headersSent } });
  return { socket, written };
}

const err = (code: string) => Object.assign(new Error(code), { code });

test("a request timeout is answered 408 request_timeout with a JSON body", () => {
  const { socket, written } = fakeSocket();
  answerClientError(err("ERR_HTTP_REQUEST_TIMEOUT"), socket);
  const text = written.join("");
  assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.match(text, /\r\nContent-Type: application\/json; charset=utf-8\r\n/);
  assert.ok(text.endsWith('\r\n\r\n{"error":"request_timeout"}'), text);
});

test("nothing is written after a response already under way, nor to a reset connection: the socket is destroyed", () => {
  for (const [code, opts] of [
    ["HPE_INVALID_CHUNK_SIZE", { headersSent: true }],
    ["ECONNRESET", {}],
  ] as const) {
    const { socket, written } = fakeSocket(opts);
    answerClientError(err(code), socket);
    assert.deepEqual(written, [], code);
    assert.equal(socket.destroyed, true, code);
  }
});

test("an error nobody foresaw is answered 500 internal_error; the log has its message, the answer nothing of it", () => {
  const captured = captureLogs();
  let status = 0;
  let body: unknown;
  const res = { headersSent: false, setHeader() {}, status: (s: number) => ((status = s), res), json: (b: unknown) => (body = b) };
  errorHandler(captured.log)(new TypeError("secret-ish detail"), { method: "GET", path: "/v1/x" } as never, res as never, () => undefined);
  assert.equal(status, 500);
  assert.deepEqual(body, { error: "internal_error" });
  assert.deepEqual(
    logEntries(captured.lines).map((e) => [e.level, e.msg]),
    [["error", "GET /v1/x: TypeError: secret-ish detail"]],
  );
});
