/**
 * A loopback HTTP proxy in front of Vault that counts the webhook-secret reads going through it: the way the
 * benchmark checks what "warm" and "cold" secret caches really do, without touching the shared Vault's
 * configuration. Used in a short check beside the timed runs, which talk to Vault directly.
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface VaultReadCounter {
  url: string;
  /** GETs of `<mount>/data/mesh-six/webhooks/…` forwarded so far. */
  reads(): number;
  close(): Promise<void>;
}

export async function startVaultReadCounter(vaultAddr: string, mount = "secret"): Promise<VaultReadCounter> {
  const target = new URL(vaultAddr);
  const prefix = `/v1/${mount}/data/mesh-six/webhooks/`;
  let reads = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith(prefix)) reads++;
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reads: () => reads,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
