import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";
import type { DeviceFlowConfig } from "../clients/device-flow";

/**
 * A real RFC 8628 authorization server (oidc-provider with its device flow) on a loopback port, and a
 * user who approves or denies a device through the provider's own HTML pages (code entry, sign-in,
 * consent), as a browser would.
 */
export interface AuthorizationServer {
  config: DeviceFlowConfig;
  /** Enters the user code from verification_uri_complete, signs in and consents. */
  approve(verificationUriComplete: string): Promise<void>;
  /** Enters the user code and aborts instead. */
  deny(verificationUriComplete: string): Promise<void>;
  close(): Promise<void>;
}

export const CLIENT_ID = "mesh-six-onboarding";

export async function startAuthorizationServer(opts: { deviceCodeTtlS?: number } = {}): Promise<AuthorizationServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "none",
      },
    ],
    features: { deviceFlow: { enabled: true } },
    ttl: { DeviceCode: opts.deviceCodeTtlS ?? 600, Session: 600, Interaction: 600, Grant: 600, AccessToken: 3600, IdToken: 3600 },
  });
  server.on("request", provider.callback());
  return {
    config: { deviceAuthorizationUrl: `${issuer}/device/auth`, tokenUrl: `${issuer}/token`, clientId: CLIENT_ID, scope: "openid" },
    async approve(uri) {
      const browser = new Browser();
      let page = await browser.open(uri);
      page = await browser.submit(page, { confirm: "yes" }); // the code entry form, prefilled from the URI
      page = await browser.submit(page, { login: "alice", password: "any" }); // dev sign-in
      page = await browser.submit(page, {}); // consent
      if (!/Sign-in Success/.test(page.text)) throw new Error(`device approval did not succeed: ${page.url}`);
    },
    async deny(uri) {
      const browser = new Browser();
      const page = await browser.open(uri);
      const done = await browser.submit(page, { abort: "yes" });
      // The provider's AbortedError page.
      if (!/request was interrupted/.test(done.text)) throw new Error(`device denial did not register: ${done.url} (HTTP ${done.status})`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Page {
  url: string;
  status: number;
  text: string;
}

/** Just enough of a browser for the provider's pages: cookies, redirects, and the first form's fields. */
class Browser {
  private readonly cookies = new Map<string, string>();

  open(url: string): Promise<Page> {
    return this.go(url);
  }

  submit(page: Page, values: Record<string, string>): Promise<Page> {
    const action = /<form[^>]*action="([^"]+)"/.exec(page.text)?.[1];
    if (!action) throw new Error(`no form on ${page.url} (HTTP ${page.status})`);
    const fields: Record<string, string> = {};
    for (const m of page.text.matchAll(/<input([^>]*)>/g)) {
      const name = /name="([^"]+)"/.exec(m[1])?.[1];
      if (name) fields[name] = /value="([^"]*)"/.exec(m[1])?.[1] ?? "";
    }
    return this.go(new URL(action, page.url).toString(), { ...fields, ...values });
  }

  private async go(url: string, form?: Record<string, string>): Promise<Page> {
    for (let hops = 0; hops < 10; hops++) {
      const res = await fetch(url, {
        method: form ? "POST" : "GET",
        redirect: "manual",
        headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
        body: form ? new URLSearchParams(form) : undefined,
      });
      for (const cookie of res.headers.getSetCookie()) {
        const [pair] = cookie.split(";");
        const eq = pair.indexOf("=");
        this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        url = new URL(location, url).toString();
        form = undefined;
        continue;
      }
      return { url, status: res.status, text: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

/** A stand-in auth service that records the credentials it is handed. */
export interface AuthService {
  url: string;
  received: { path: string; body: Record<string, unknown> }[];
  /** Answer this status instead of 201 (to see a refusal handled). */
  failWith?: number;
  close(): Promise<void>;
}

export async function startAuthService(): Promise<AuthService> {
  const received: AuthService["received"] = [];
  const service: AuthService = {
    url: "",
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: `${req.method} ${req.url}`,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>,
      });
      res.writeHead(service.failWith ?? 201, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  service.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return service;
}
