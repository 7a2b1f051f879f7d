import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { logMessages } from "../../testkit/log-capture";
import { rawRequest, type RawResponse } from "../../testkit/raw-http";
import { startTestServer, TEST_TOKEN, type TestServer } from "../../testkit/server";

/**
 * Requests Node's HTTP parser refuses never reach Express; without a 'clientError' listener Node answers a
 * bare `400 Bad Request` with no body (431 with none for headers too large). Every such answer must be JSON with an error
 * code, like every other error of the API, and the connection is closed after it.
 */

let srv: TestServer;
before(async () => {
  srv = await startTestServer({ startQueue: false, startDispatcher: false });
});
after(async () => {
  await srv.close();
});

function assertJsonError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.raw.slice(0, 300));
  assert.match(res.headers["content-type"] ?? "", /^application\/json/, res.raw.slice(0, 300));
  assert.deepEqual(JSON.parse(res.body), { error: code });
  assert.equal(res.headers["content-length"], String(Buffer.byteLength(res.body)));
  assert.equal(res.headers.connection, "close");
}

test("headers larger than 16 KiB get 431 header_too_large", async () => {
  const res = await rawRequest(
    srv.url,
    `GET /v1/repos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nX-Padding: ${"p".repeat(17 * 1024)}\r\n\r\n`,
  );
  assertJsonError(res, 431, "header_too_large");
});

test("many headers adding up to more than 16 KiB get 431 header_too_large", async () => {
  const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${"v".repeat(40)}\r\n`).join("");
  assertJsonError(await rawRequest(srv.url, `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`), 431, "header_too_large");
});

test("a malformed request line gets 400 bad_request", async () => {
  assertJsonError(await rawRequest(srv.url, "THIS IS NOT HTTP\r\n\r\n"), 400, "bad_request");
  assertJsonError(await rawRequest(srv.url, "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"), 400, "bad_request");
});

test("a header with invalid characters gets 400 bad_request", async () => {
  assertJsonError(await rawRequest(srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n"), 400, "bad_request");
  assertJsonError(await rawRequest(srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n"), 400, "bad_request");
});

test("a bad chunked encoding gets 400 bad_request, and nothing is stored", async () => {
  const head = `POST /v1/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  assertJsonError(await rawRequest(srv.url, `${head}ZZ\r\n{}\r\n0\r\n\r\n`), 400, "bad_request");
  assert.equal((await srv.db.pool.query("SELECT count(*)::int AS n FROM agents")).rows[0].n, 0);
  assert.deepEqual(
    logMessages(srv.logs).filter((l) => l.startsWith("POST /v1/agents")),
    [],
    "the half-read request is not logged as a fault",
  );
});

test("Content-Length together with Transfer-Encoding (a smuggling attempt) gets 400 bad_request", async () => {
  const res = await rawRequest(
    srv.url,
    "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  );
  assertJsonError(res, 400, "bad_request");
});

test("after refusing those requests the server still answers well-formed ones", async () => {
  const res = await rawRequest(srv.url, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: "ok" });
});
