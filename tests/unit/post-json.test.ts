import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { PostTimeout, postJson } from "../../lib/post-json";

test("postJson sends the text as JSON and answers the status; it rejects at its timeout, on abort with the reason, and when nobody listens", async () => {
  const got: { type?: string; length?: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      got.push({ type: req.headers["content-type"], length: req.headers["content-length"], body });
      if (req.url === "/hang") return;
      res.statusCode = req.url === "/fail" ? 500 : 202;
      res.end("ignored");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signal = new AbortController().signal;
  try {
    assert.equal(await postJson(`${base}/ok`, '{"é":1}', { signal, timeoutMs: 5000 }), 202);
    assert.deepEqual(got[0], { type: "application/json", length: String(Buffer.byteLength('{"é":1}')), body: '{"é":1}' });
    assert.equal(await postJson(`${base}/fail`, "{}", { signal, timeoutMs: 5000 }), 500);

    await assert.rejects(
      postJson(`${base}/hang`, "{}", { signal, timeoutMs: 100 }),
      (err: Error) => err instanceof PostTimeout && err.name === "TimeoutError",
    );
    const controller = new AbortController();
    const aborted = postJson(`${base}/hang`, "{}", { signal: controller.signal, timeoutMs: 5000 });
    setTimeout(() => controller.abort(new Error("lease lost")), 50);
    await assert.rejects(aborted, /lease lost/);
    await assert.rejects(postJson(`${base}/ok`, "{}", { signal: controller.signal, timeoutMs: 5000 }), /lease lost/, "already aborted");
    await assert.rejects(postJson("http://127.0.0.1:1/", "{}", { signal, timeoutMs: 5000 }), /ECONNREFUSED/);
    await assert.rejects(postJson("ftp://127.0.0.1/", "{}", { signal, timeoutMs: 5000 }), /ftp:/);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
