/**
 * GitHub-like webhook load with autocannon over loopback: every request goes to the next repo in turn (so the
 * requests in flight name different repos), is signed with that repo's secret, and carries a delivery id of
 * its own. Bodies and signatures are computed once per repo; the delivery id is a header, outside the
 * signed bytes, so it changes without re-signing.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { sign } from "../../testkit/webhooks";
import type { RepoSecret } from "./reference-webhook-server";
import { percentile } from "../../testkit/report";
import { issueOpenedPayload } from "./webhook-payload";

export const WEBHOOK_EVENT = "issues";

/**
 * Either exactly `amount` requests, or batches of about a second each until `seconds` have passed. Every
 * batch is a fixed request count that autocannon sees answered in full, so that each 2xx can be matched to a
 * stored delivery afterwards (a timed autocannon run would cut requests off in flight).
 */
export type LoadOptions = { connections: number } & ({ amount: number } | { seconds: number });

export interface LoadResult {
  /** 2xx answers per second, over the time requests were in flight. */
  rate: number;
  /** Of the 2xx answers' latencies, in ms. */
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
}

interface Prepared {
  path: string;
  body: string;
  signature: string;
}

export function prepareDeliveries(repos: readonly RepoSecret[]): Prepared[] {
  return repos.map((r, i) => {
    const body = JSON.stringify(issueOpenedPayload(r.owner, r.repo, 100 + i));
    return { path: `/webhooks/github/${r.owner}/${r.repo}`, body, signature: sign(r.secret, body) };
  });
}

interface Batch {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencies: number[];
  spanMs: number;
}

async function batch(baseUrl: string, deliveries: readonly Prepared[], connections: number, amount: number): Promise<Batch> {
  let next = 0;
  const latencies: number[] = [];
  let lastAnswer = 0;
  const options: autocannon.Options = {
    url: baseUrl,
    connections,
    amount,
    timeout: 10,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          const d = deliveries[next++ % deliveries.length];
          return {
            ...req,
            path: d.path,
            body: d.body,
            headers: {
              "content-type": "application/json",
              "user-agent": "GitHub-Hookshot/bench",
              "x-github-event": WEBHOOK_EVENT,
              "x-github-delivery": randomUUID(),
              "x-hub-signature-256": d.signature,
            },
          };
        },
      },
    ],
  };
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err, res) => (err ? reject(err) : resolve(res)));
    // autocannon notices the end only at its next once-a-second tick; the span is taken from the answers.
    instance.on("response", (_client, status, _bytes, responseTime) => {
      lastAnswer = performance.now();
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
  return {
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencies,
    spanMs: lastAnswer - started,
  };
}

export async function loadWebhooks(baseUrl: string, deliveries: readonly Prepared[], opts: LoadOptions): Promise<LoadResult> {
  const batches: Batch[] = [];
  const total = (pick: (b: Batch) => number) => batches.reduce((n, b) => n + pick(b), 0);
  if ("amount" in opts) batches.push(await batch(baseUrl, deliveries, opts.connections, opts.amount));
  else {
    // The first batch is small; each next one is sized from the rate so far to last about a second.
    while (total((b) => b.spanMs) < opts.seconds * 1000) {
      const rate = batches.length > 0 ? (total((b) => b.ok) / total((b) => b.spanMs)) * 1000 : 0;
      batches.push(await batch(baseUrl, deliveries, opts.connections, Math.max(opts.connections * 10, Math.round(rate))));
    }
  }
  const latencies = batches.flatMap((b) => b.latencies);
  if (latencies.length === 0)
    throw new Error(`no 2xx answer from ${baseUrl} (${total((b) => b.non2xx)} non-2xx, ${total((b) => b.errors)} errors)`);
  const durationS = total((b) => b.spanMs) / 1000;
  return {
    rate: total((b) => b.ok) / durationS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ok: total((b) => b.ok),
    non2xx: total((b) => b.non2xx),
    errors: total((b) => b.errors),
    timeouts: total((b) => b.timeouts),
    durationS,
  };
}
