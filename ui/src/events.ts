import { readSse } from "../../server/sse";
import { ApiError, authHeaders } from "./api";
import type { RunEventMessage } from "./types";

/**
 * Follows a run's Server-Sent Events (GET /v1/runs/{id}/events). EventSource cannot send an Authorization header,
 * and the token must not go into a URL, so the stream is read with fetch. Whenever the connection ends — the
 * server finishing it or the network dropping it — it reconnects with Last-Event-ID, the last seq it saw: the
 * server replays only what came after, and answers 204 once the run is finished with nothing more to send.
 */
export type StreamState = "connecting" | "live" | "reconnecting" | "ended" | "stopped";

export interface StreamHandlers {
  event(message: RunEventMessage): void;
  state(state: StreamState, detail: { lastEventId: number; reconnects: number; error?: string }): void;
}

export interface EventFollower {
  stop(): void;
  readonly lastEventId: number;
  /** Streams opened again after the first (each resumed after Last-Event-ID). */
  readonly reconnects: number;
}

/** What the server asks for in its `retry:` field (server/sse.ts); a wait grows with the failures in a row, up to 15 s. */
const RETRY_MS = 2000;

export function followRunEvents(runId: string, handlers: StreamHandlers): EventFollower {
  const controller = new AbortController();
  let lastEventId = 0;
  let reconnects = 0;
  let opened = false;
  let stopped = false;

  const detail = (error?: string) => ({ lastEventId, reconnects, ...(error ? { error } : {}) });

  async function readOnce(): Promise<"again" | "ended"> {
    const headers = authHeaders({ accept: "text/event-stream" });
    if (lastEventId > 0) headers.set("last-event-id", String(lastEventId));
    const res = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, { headers, signal: controller.signal, cache: "no-store" });
    if (res.status === 204) return "ended";
    if (!res.ok || !res.body) throw new ApiError(res.status, (await res.json().catch(() => ({}))) as Record<string, unknown>);
    // Counted when a stream opens again, not when a finished run's last ask answers 204.
    if (opened) reconnects += 1;
    opened = true;
    handlers.state("live", detail());
    // The server's own reader of the protocol (server/sse.ts), as its tests use it.
    for await (const frame of readSse(res)) {
      const message = JSON.parse(frame.data) as RunEventMessage;
      // A replay never repeats what was shown: the server starts after Last-Event-ID, and this guards the rest.
      if (message.seq <= lastEventId) continue;
      lastEventId = message.seq;
      handlers.event(message);
    }
    return "again";
  }

  void (async () => {
    handlers.state("connecting", detail());
    let failures = 0;
    let cleanEnds = 0;
    while (!stopped) {
      try {
        const outcome = await readOnce();
        if (outcome === "ended") {
          handlers.state("ended", detail());
          return;
        }
        failures = 0;
        cleanEnds += 1;
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && err.status < 500 && err.status !== 408) {
          handlers.state("stopped", detail(err.message));
          return;
        }
        failures += 1;
        cleanEnds = 0;
      }
      if (stopped) return;
      handlers.state("reconnecting", detail());
      // A clean end comes when the run is finished: ask again at once for the 204. A dropped one waits, and so
      // does a second clean end in a row (a server going away cleanly), so a stream is never asked for in a loop.
      if (failures > 0 || cleanEnds > 1)
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS * Math.max(failures, 1), 15_000)));
    }
  })();

  return {
    stop() {
      stopped = true;
      controller.abort();
    },
    get lastEventId() {
      return lastEventId;
    },
    get reconnects() {
      return reconnects;
    },
  };
}
