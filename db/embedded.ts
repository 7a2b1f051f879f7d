import { mkdirSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../lib/config-error";
import { acquireOwnerLock } from "../lib/owner-lock";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedDatabase {
  /** A postgres:// URL for this process and for Pulumi's dynamic providers (separate processes). */
  url: string;
  stop(): Promise<void>;
}

/**
 * The embedded default when no DATABASE_URL is given: PGlite (PostgreSQL in WebAssembly) persisted in
 * `dataDir`, served over the PostgreSQL wire protocol on loopback only. PGlite is one session, so its socket
 * server runs one protocol message at a time; advisory locks are therefore shared by every connection, and the
 * run queue does not rely on them for correctness.
 */
export async function startEmbeddedDatabase(opts: { dataDir: string; port?: number }): Promise<EmbeddedDatabase> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(opts.dataDir);
  const db = await PGlite.create(opts.dataDir).catch(async (err: unknown) => {
    await unlock();
    throw err;
  });
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: opts.port ?? 0, maxConnections: 64 });
  // pglite-socket 0.2 interleaves the messages of concurrent clients between a Parse and its Sync, so one
  // client's Bind can meet another's unnamed statement ("bind message supplies 1 parameters…"). Its queue is
  // swapped for one that serves a client from its first message to the end of its protocol exchange.
  (server as unknown as { queryQueue: ExchangeQueue }).queryQueue = new ExchangeQueue(db);
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
      await unlock();
    },
  };
}

const LOCK_FILE = "mesh-six-server.lock";

/**
 * PGlite is PostgreSQL compiled for one process: a second process opening the same directory would corrupt it.
 * The first server holds a lock file naming it; another one is refused, with what to do instead. A lock left by
 * a process that no longer exists on this host is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const held = await acquireOwnerLock(path.join(dataDir, LOCK_FILE));
  if (held.acquired) return held.release;
  const who = held.owner ? `process ${held.owner.pid} on ${held.owner.host}` : "another process";
  throw new ConfigError(
    "DATABASE_URL",
    `the embedded database in ${dataDir} is in use by ${who}; it serves one server process only: give every server the same DATABASE_URL of a PostgreSQL server instead`,
  );
}

type OnData = (data: Uint8Array) => void;
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData: OnData;
  resolve: (bytes: number) => void;
  reject: (err: unknown) => void;
}

// Message type bytes that end an exchange: Sync, a simple Query, Terminate. A startup message has no type
// byte (it starts with its length, whose first byte is 0) and is an exchange of its own.
const EXCHANGE_END = new Set([0x53, 0x51, 0x58, 0x00]);

/**
 * The socket server's query queue (same four methods), serving one client at a time from the first message of
 * an exchange to its end, and for the whole of a transaction.
 */
export class ExchangeQueue {
  private queue: QueuedMessage[] = [];
  private processing = false;
  private owner: number | null = null;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: OnData): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((item) => {
      if (item.handlerId !== handlerId) return true;
      item.reject(new Error("Handler disconnected"));
      return false;
    });
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    this.owner = null;
    await this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const index = this.owner === null ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner);
        if (index === -1) break; // the owner's next message has not arrived yet
        const [item] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err) {
          this.owner = null;
          item.reject(err);
          continue;
        }
        const ended = EXCHANGE_END.has(item.message[0]) && !this.db.isInTransaction();
        this.owner = ended ? null : item.handlerId;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}
