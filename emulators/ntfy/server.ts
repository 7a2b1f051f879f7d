/**
 * A stateful stand-in for exactly the part of ntfy the notifications use: "publish as JSON"
 * (docs.ntfy.sh/publish/#publish-as-json). ntfy is a Go server not installable here; the shapes follow its docs
 * and its server's error table:
 *  - POST / (the root URL, never the topic's) with a JSON object; `topic` is the only required field and must be
 *    `[-_A-Za-z0-9]{1,64}` (docs "Picking a topic"); `message` (default "triggered"), `title`, `tags` (string
 *    array), `priority` (int 1-5), `click` (URL) are the fields read here;
 *  - the answer is the stored message as a subscriber sees it (subscribe/api.md "JSON message format"): `id`,
 *    `time` and `expires` (Unix seconds), `event: "message"`, `topic`, then the given fields, empty ones left out;
 *  - a body that is not a JSON object is 400 `{"code":40017,"http":400,"error":"invalid request: request body
 *    must be message JSON","link":"https://ntfy.sh/docs/publish/#publish-as-json"}`, a bad topic 40009, a bad
 *    priority 40007, as ntfy's errHTTPBadRequest… values.
 * Plus GET /_emulator/messages[?topic=] (this stand-in's own): what was published, oldest first, with the request's
 * headers, so tests can check exactly what arrived.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import express, { type Request, type Response } from "express";

export interface NtfyMessage {
  id: string;
  time: number;
  expires: number;
  event: "message";
  topic: string;
  message: string;
  title?: string;
  tags?: string[];
  priority?: number;
  click?: string;
}

export interface ReceivedPublish {
  message: NtfyMessage;
  headers: Record<string, string>;
}

export interface NtfyEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface NtfyEmulator {
  url: string;
  /** Every publish accepted, oldest first. */
  received: ReceivedPublish[];
  close(): Promise<void>;
}

const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
// ntfy keeps messages 12 h by default (cache-duration).
const CACHE_SECONDS = 12 * 60 * 60;

function refuse(res: Response, code: number, error: string, link = ""): void {
  res.status(400).json({ code, http: 400, error, link });
}

function optionalString(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export async function startNtfyEmulator(opts: NtfyEmulatorOptions = {}): Promise<NtfyEmulator> {
  const received: ReceivedPublish[] = [];
  const app = express();
  app.disable("x-powered-by");
  // ntfy reads the body whatever its content type says.
  app.use(express.text({ type: () => true, limit: "64kb" }));

  app.post("/", (req: Request, res: Response) => {
    let body: unknown;
    try {
      body = JSON.parse(typeof req.body === "string" ? req.body : "");
    } catch {
      body = undefined;
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      return refuse(res, 40017, "invalid request: request body must be message JSON", "https://ntfy.sh/docs/publish/#publish-as-json");
    }
    const m = body as Record<string, unknown>;
    if (typeof m.topic !== "string" || !TOPIC.test(m.topic)) return refuse(res, 40009, "invalid request: topic invalid");
    const priority = m.priority;
    if (
      priority !== undefined &&
      priority !== 0 &&
      !(Number.isInteger(priority) && (priority as number) >= 1 && (priority as number) <= 5)
    ) {
      return refuse(res, 40007, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority");
    }
    const tags = Array.isArray(m.tags) ? m.tags.filter((t): t is string => typeof t === "string" && t !== "") : [];
    const time = Math.floor(Date.now() / 1000);
    const message: NtfyMessage = {
      id: randomBytes(9).toString("base64url").slice(0, 12),
      time,
      expires: time + CACHE_SECONDS,
      event: "message",
      topic: m.topic,
      message: optionalString(m.message) ?? "triggered",
      ...(optionalString(m.title) ? { title: m.title as string } : {}),
      ...(tags.length > 0 ? { tags } : {}),
      ...(typeof priority === "number" && priority > 0 ? { priority } : {}),
      ...(optionalString(m.click) ? { click: m.click as string } : {}),
    };
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
    received.push({ message, headers });
    res.json(message);
  });

  app.get("/_emulator/messages", (req, res) => {
    const topic = typeof req.query.topic === "string" ? req.query.topic : undefined;
    res.json({ messages: received.filter((r) => !topic || r.message.topic === topic) });
  });

  const server = await new Promise<import("node:http").Server>((resolve) => {
    const s = app.listen(opts.port ?? 0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
