import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedDatabase {
  /** A postgres:// URL for this process and for Pulumi's dynamic providers (separate processes). */
  url: string;
  stop(): Promise<void>;
}

/**
 * The embedded default when no DATABASE_URL is given: PGlite (PostgreSQL in WebAssembly) persisted in
 * `dataDir`, served over the PostgreSQL wire protocol on loopback only. PGlite is one session, so the socket
 * server runs one statement at a time and keeps a transaction's statements together; advisory locks are
 * therefore shared by every connection, and the run queue does not rely on them for correctness.
 */
export async function startEmbeddedDatabase(opts: { dataDir: string; port?: number }): Promise<EmbeddedDatabase> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(opts.dataDir);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: opts.port ?? 0, maxConnections: 64 });
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
