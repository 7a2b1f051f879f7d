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

/** A project as the auth service answers it (upstream's ProjectConfig, the fields this project uses). */
export interface AuthServiceProject {
  id: string;
  displayName: string;
  settingsJson?: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * A stand-in auth service: it records the credentials it is handed and keeps projects as upstream's auth service
 * does (jaybrto/mesh-six apps/auth-service): `GET /projects/{id}`, `PUT /projects/{id}` of the fields given,
 * `POST /projects`; 404 for a project it lacks, 409 for one it has, 400 for a body it refuses.
 */
export interface AuthService {
  url: string;
  /** Every request other than the project calls, as `METHOD /path` with its JSON body. */
  received: { path: string; body: Record<string, unknown> }[];
  /** The projects, by id. */
  projects: Map<string, AuthServiceProject>;
  /** Answer this status instead of 201 (to see a refusal handled). */
  failWith?: number;
  close(): Promise<void>;
}

type Answer = { status: number; body: unknown };

const PROJECT_FIELDS = ["displayName", "settingsJson"] as const;

function projectCall(projects: AuthService["projects"], method: string, path: string, body: Record<string, unknown>): Answer | undefined {
  const one = /^\/projects\/([^/?]+)$/.exec(path);
  const id = one ? decodeURIComponent(one[1]) : undefined;
  const refused = PROJECT_FIELDS.find((f) => body[f] !== undefined && typeof body[f] !== "string");
  const now = new Date().toISOString();
  if (method === "GET" && id !== undefined) {
    const project = projects.get(id);
    return project ? { status: 200, body: project } : { status: 404, body: { error: `Project '${id}' not found` } };
  }
  if (method === "PUT" && id !== undefined) {
    const project = projects.get(id);
    if (!project) return { status: 404, body: { error: `Project '${id}' not found` } };
    if (refused) return { status: 400, body: { error: "Validation error", details: [{ path: [refused] }] } };
    for (const f of PROJECT_FIELDS) if (typeof body[f] === "string") project[f] = body[f];
    project.updatedAt = now;
    return { status: 200, body: project };
  }
  if (method === "POST" && path === "/projects") {
    if (typeof body.id !== "string" || !body.id || typeof body.displayName !== "string" || !body.displayName || refused) {
      return { status: 400, body: { error: "Validation error" } };
    }
    if (projects.has(body.id)) return { status: 409, body: { error: `Project '${body.id}' already exists` } };
    const project: AuthServiceProject = { id: body.id, displayName: body.displayName, createdAt: now, updatedAt: now };
    if (typeof body.settingsJson === "string") project.settingsJson = body.settingsJson;
    projects.set(project.id, project);
    return { status: 201, body: project };
  }
  return undefined;
}

export async function startAuthService(): Promise<AuthService> {
  const received: AuthService["received"] = [];
  const service: AuthService = {
    url: "",
    received,
    projects: new Map(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "Invalid JSON" }));
        return;
      }
      const answer = projectCall(service.projects, req.method ?? "GET", req.url ?? "/", body);
      if (answer) {
        res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
        return;
      }
      received.push({ path: `${req.method} ${req.url}`, body });
      res.writeHead(service.failWith ?? 201, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  service.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return service;
}
