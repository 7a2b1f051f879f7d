import http from "node:http";
import https from "node:https";

/** What a POST that outlived its time rejects with: named as AbortSignal.timeout's reason is. */
export class PostTimeout extends Error {
  override name = "TimeoutError";
}

// Connections to the same host are kept and reused, as fetch's are.
const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

/**
 * POSTs a JSON text and resolves with the answer's status once its body was read (and dropped). Rejects with
 * `signal`'s reason when it is aborted, with PostTimeout after `timeoutMs`, or with the request's error. The same as
 * fetch for a delivery, at a fraction of its cost per request (no WHATWG streams, Request or Response objects, no
 * AbortSignal.any per call); unlike fetch it follows no redirect: a 3xx is an answer like any other.
 */
export function postJson(url: string, body: string, opts: { signal: AbortSignal; timeoutMs: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      return reject(err as Error);
    }
    const agent = target.protocol === "http:" || target.protocol === "https:" ? agents[target.protocol] : undefined;
    if (!agent) return reject(new Error(`cannot POST to a ${target.protocol} URL`));
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      then();
    };
    const req = (target.protocol === "https:" ? https : http).request(
      target,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.on("error", (err) => settle(() => reject(err)));
        res.on("end", () => settle(() => resolve(res.statusCode ?? 0)));
        res.resume();
      },
    );
    const fail = (err: unknown) => {
      settle(() => reject(err));
      req.destroy();
    };
    const onAbort = () => fail(opts.signal.reason);
    const timer = setTimeout(() => fail(new PostTimeout(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on("error", (err) => settle(() => reject(err)));
    if (opts.signal.aborted) return fail(opts.signal.reason);
    opts.signal.addEventListener("abort", onAbort, { once: true });
    req.end(body);
  });
}
