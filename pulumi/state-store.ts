import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { DEFAULT_STATE_TABLE } from "./state-backend";

/**
 * Pulumi's DIY backends keep a stack as blobs under `.pulumi/` (its checkpoint in `stacks/<project>/`, each
 * update in `history/<project>/<stack>/`, backups in `backups/…`, locks in `locks/…`), whatever the store. These
 * read and write those blobs directly, byte for byte, in the two stores this project uses: a directory (the
 * file backend) and the PostgreSQL backend's table, whose rows hold `{"data": "<base64>"}` JSON (the layout of
 * `pkg/backend/diy/postgres` in Pulumi 3.248). Copying blobs, not `stack export`, is what keeps a stack's history.
 */
export interface StateBlobStore {
  readonly description: string;
  /** Every key under `.pulumi/`, sorted, without the file backend's `.attrs` sidecars. */
  list(): Promise<string[]>;
  read(key: string): Promise<Buffer | undefined>;
  has(key: string): Promise<boolean>;
  write(key: string, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export function openStateStore(url: string): Promise<StateBlobStore> {
  if (url.startsWith("file://")) return Promise.resolve(new FileStateStore(fileBackendDir(url)));
  if (url.startsWith("postgres://")) return PostgresStateStore.open(url);
  throw new Error(`unsupported state backend ${url.split(":")[0]}: only file:// and postgres:// stores are read here`);
}

/**
 * Makes the PostgreSQL backend's table before any CLI uses it: the CLI creates it on first use with `CREATE TABLE IF
 * NOT EXISTS`, which is no guard against itself: two replicas' first runs on an empty database race in the catalog
 * (`duplicate key value violates unique constraint "pg_type_typname_nsp_index"`) and one run fails. Once the table
 * exists the CLI's statement does nothing. A no-op for other backends.
 */
export async function prepareStateBackend(url: string): Promise<void> {
  if (url.startsWith("postgres://")) await (await PostgresStateStore.open(url)).close();
}

/**
 * Whether the backend at `url` holds the checkpoint of `stack` (of `project`): what `stack select` would find, read
 * without launching the CLI. Undefined for a backend not read here (the CLI is asked then).
 */
export async function hasStackCheckpoint(url: string, project: string, stack: string): Promise<boolean | undefined> {
  if (!url.startsWith("file://") && !url.startsWith("postgres://")) return undefined;
  const store = await openStateStore(url);
  try {
    const key = `.pulumi/stacks/${project}/${stack}.json`;
    return (await store.has(key)) || (await store.has(`${key}.gz`));
  } finally {
    await store.close();
  }
}

export function fileBackendDir(url: string): string {
  const rest = decodeURIComponent(url.slice("file://".length).split("?")[0]);
  return rest.startsWith("~") ? path.join(homedir(), rest.slice(1)) : rest;
}

class FileStateStore implements StateBlobStore {
  constructor(private readonly root: string) {}

  get description(): string {
    return `file://${this.root}`;
  }

  async list(): Promise<string[]> {
    const entries = await readdir(path.join(this.root, ".pulumi"), { recursive: true, withFileTypes: true }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return [];
        throw err;
      },
    );
    return entries
      .filter((e) => e.isFile() && !e.name.endsWith(".attrs"))
      .map((e) => path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
      .sort();
  }

  async read(key: string): Promise<Buffer | undefined> {
    return readFile(this.pathOf(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
  }

  has(key: string): Promise<boolean> {
    return Promise.resolve(existsSync(this.pathOf(key)));
  }

  async write(key: string, data: Buffer): Promise<void> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.migrating`;
    await writeFile(temp, data, { mode: 0o600 });
    await rename(temp, file);
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    const file = path.resolve(this.root, key);
    if (!file.startsWith(path.join(this.root, ".pulumi") + path.sep)) throw new Error(`state key outside .pulumi/: ${key}`);
    return file;
  }
}

/**
 * The backend opens its table as a gocloud bucket prefixed with the URL's path: every key of
 * `postgres://host/mesh_six?table=t` starts `mesh_six/` (checked with the CLI 3.248: `mesh_six/.pulumi/meta.yaml`).
 */
// Any fixed key: it only has to be the same in every process that creates the table.
const STATE_TABLE_LOCK_KEY = 0x6d736974;

/**
 * The same table the CLI creates on first use (pkg/backend/diy/postgres/schema.sql), made under a transaction's advisory
 * lock so that concurrent openers (the replicas' start-ups, their runs' checkpoint look-ups) wait for each other
 * instead of racing in the catalog; the first makes it, the others find it.
 */
async function createStateTable(client: Client, table: string): Promise<void> {
  const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
  if (rows[0].found) return;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [STATE_TABLE_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, data JSON NOT NULL, updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())`,
    );
    await client.query(`CREATE INDEX IF NOT EXISTS ${table}_key_prefix_idx ON ${table} (key text_pattern_ops)`);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

class PostgresStateStore implements StateBlobStore {
  private constructor(
    private readonly client: Client,
    private readonly table: string,
    private readonly prefix: string,
    readonly description: string,
  ) {}

  static async open(url: string): Promise<PostgresStateStore> {
    const u = new URL(url);
    const table = u.searchParams.get("table") || DEFAULT_STATE_TABLE;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new Error(`table must be a lower-case SQL identifier, got ${JSON.stringify(table)}`);
    u.searchParams.delete("table");
    const client = new Client({ connectionString: u.toString() });
    await client.connect();
    try {
      await createStateTable(client, table);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    const prefix = u.pathname.replace(/^\/+/, "") ? `${u.pathname.replace(/^\/+/, "")}/` : "";
    return new PostgresStateStore(client, table, prefix, `postgres://${u.host}${u.pathname} (table ${table})`);
  }

  async list(): Promise<string[]> {
    const { rows } = await this.client.query<{ key: string }>(`SELECT key FROM ${this.table} WHERE starts_with(key, $1) ORDER BY key`, [
      `${this.prefix}.pulumi/`,
    ]);
    return rows.map((r) => r.key.slice(this.prefix.length));
  }

  async read(key: string): Promise<Buffer | undefined> {
    const { rows } = await this.client.query<{ data: string }>(`SELECT data->>'data' AS data FROM ${this.table} WHERE key = $1`, [
      this.prefix + key,
    ]);
    return rows[0] ? Buffer.from(rows[0].data, "base64") : undefined;
  }

  async has(key: string): Promise<boolean> {
    const { rowCount } = await this.client.query(`SELECT 1 FROM ${this.table} WHERE key = $1`, [this.prefix + key]);
    return (rowCount ?? 0) > 0;
  }

  async write(key: string, data: Buffer): Promise<void> {
    await this.client.query(
      `INSERT INTO ${this.table} (key, data) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = now()`,
      [this.prefix + key, JSON.stringify({ data: data.toString("base64") })],
    );
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
