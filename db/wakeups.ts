import { Client } from "pg";
import type { Logger } from "../lib/logger";

/** Per channel; called with the notification's payload, or with none when listening (re)starts. */
export type WakeupHandlers = Record<string, (payload?: string) => void>;

/** Told when the listener starts hearing notifications and when it may stop hearing them (a lost connection). */
export interface ListenerState {
  up(): void;
  down(): void;
}

export interface Wakeups {
  stop(): Promise<void>;
}

/**
 * One connection that LISTENs on the channels the database's triggers NOTIFY (migration 011), calling a handler
 * per notification. Polling stays the backstop: a notification missed while the connection was down costs at
 * most one poll interval, so a lost connection is simply reopened, with a growing pause.
 */
export function listenForWakeups(connectionString: string, handlers: WakeupHandlers, log: Logger, state?: ListenerState): Wakeups {
  let client: Client | undefined;
  let stopped = false;
  let retryMs = 250;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (stopped) return;
    const c = new Client({ connectionString });
    client = c;
    c.on("notification", (msg) => handlers[msg.channel]?.(msg.payload));
    c.on("error", (err) => {
      log.warn(`wake-ups: connection lost (${err.message}); polling until it is back`);
      reopen(c);
    });
    c.on("end", () => reopen(c));
    try {
      await c.connect();
      for (const channel of Object.keys(handlers)) await c.query(`LISTEN "${channel.replaceAll('"', "")}"`);
      retryMs = 250;
      state?.up();
      // Work stored while nobody listened is found now rather than at the next poll.
      for (const wake of Object.values(handlers)) wake();
    } catch (err) {
      log.warn(`wake-ups: cannot listen (${(err as Error).message}); polling until it can`);
      reopen(c);
    }
  };

  const reopen = (c: Client) => {
    if (stopped || client !== c || timer) return;
    client = undefined;
    state?.down();
    void c.end().catch(() => undefined);
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, 10_000);
  };

  void connect();
  return {
    async stop() {
      stopped = true;
      state?.down();
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
