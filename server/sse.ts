import type { Request, Response } from "express";

/**
 * Server-Sent Events, the text protocol of the HTML standard (no SSE library is installed, and the
 * protocol is a few lines): `id:`/`event:`/`data:` fields, a blank line per event, comment lines as
 * keep-alives, and `retry:` for the client's reconnection delay.
 */
export interface EventStream {
  send(event: { id?: number | string; event?: string; data: string }): void;
  readonly closed: boolean;
  /** Resolves when the client goes away. */
  readonly gone: Promise<void>;
  end(): void;
}

export function openEventStream(req: Request, res: Response, opts: { retryMs?: number; keepAliveMs?: number } = {}): EventStream {
  res.status(200);
  res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
  res.setHeader("Cache-Control", "no-cache, no-transform");
  res.setHeader("Connection", "keep-alive");
  // Reverse proxies (nginx) would otherwise buffer the stream.
  res.setHeader("X-Accel-Buffering", "no");
  res.flushHeaders();
  res.write(`retry: ${opts.retryMs ?? 2000}\n\n`);

  let closed = false;
  let resolveGone!: () => void;
  const gone = new Promise<void>((resolve) => (resolveGone = resolve));
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), opts.keepAliveMs ?? 15_000);
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    resolveGone();
  };
  req.on("close", close);
  res.on("close", close);

  return {
    get closed() {
      return closed;
    },
    gone,
    send({ id, event, data }) {
      if (closed) return;
      let frame = "";
      if (id !== undefined) frame += `id: ${String(id).replace(/[\r\n]/g, "")}\n`;
      if (event) frame += `event: ${event.replace(/[\r\n]/g, "")}\n`;
      // A data field cannot hold a line break; each line of the payload becomes its own field.
      for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
      res.write(`${frame}\n`);
    },
    end() {
      close();
      if (!res.writableEnded) res.end();
    },
  };
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

function parseSseBlock(block: string): SseEvent | undefined {
  const event: SseEvent = { data: "" };
  const data: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  event.data = data.join("\n");
  return event;
}

/** The client side: yields a Server-Sent Events response's events as they arrive, until the server ends it. */
export async function* readSse(res: globalThis.Response): AsyncGenerator<SseEvent> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, "");
      const event = parseSseBlock(block);
      if (event) yield event;
    }
  }
  const last = parseSseBlock(buffered);
  if (last) yield last;
}
