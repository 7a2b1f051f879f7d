import { ConfigError } from "../lib/config-error";
import { redactUrlCredentials } from "../lib/redact";

/**
 * Where Pulumi keeps the stacks' state and how their secrets are encrypted, decided once from the environment:
 *
 * | setting | source, first that applies |
 * |---|---|
 * | backend | `PULUMI_BACKEND_URL`; else, with a real database (`DATABASE_URL`), Pulumi's PostgreSQL backend in that database (table `MESH_SIX_STATE_TABLE`, default `pulumi_state`); else the embedded file backend |
 * | secrets | `MESH_SIX_SECRETS_PROVIDER` (`hashivault://<key>`, `passphrase`, or any provider URL the CLI takes); else `PULUMI_CONFIG_PASSPHRASE[_FILE]`; else, with the file backend only, a passphrase generated beside the state |
 *
 * A passphrase file generated on one machine cannot be shared by replicas, so a shared backend without a secrets
 * provider or passphrase is a configuration error, not a silent local default.
 */
export type StateBackendKind = "file" | "postgres" | "other";

export interface StateBackendChoice {
  /** Never with a password: the CLI prints its backend URL in its errors, which become runs' failure reasons. */
  url: string;
  kind: StateBackendKind;
  /** Why this backend: which variable decided it (shown at start-up, never with credentials). */
  source: "PULUMI_BACKEND_URL" | "DATABASE_URL" | "embedded";
  /** What Pulumi's processes need besides the URL: the database password, as PGPASSWORD (lib/pq reads it). */
  envVars: Record<string, string>;
}

export interface SecretsChoice {
  /** The provider new stacks are created with (`--secrets-provider`); undefined: the CLI's default, a passphrase. */
  provider?: string;
  source: "MESH_SIX_SECRETS_PROVIDER" | "PULUMI_CONFIG_PASSPHRASE" | "PULUMI_CONFIG_PASSPHRASE_FILE" | "generated";
  /** Variables every Pulumi run needs for that provider (Vault's address and token for hashivault). */
  envVars: Record<string, string>;
}

export const DEFAULT_STATE_TABLE = "pulumi_state";
// The backend interpolates the table name into its SQL and into an index name: keep it a plain identifier.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function chooseStateBackend(env: NodeJS.ProcessEnv, embeddedFileUrl: () => string): StateBackendChoice {
  if (env.PULUMI_BACKEND_URL) {
    const kind = kindOf(env.PULUMI_BACKEND_URL);
    const url = kind === "postgres" ? withoutPassword(env.PULUMI_BACKEND_URL) : { url: env.PULUMI_BACKEND_URL, envVars: {} };
    return { ...url, kind, source: "PULUMI_BACKEND_URL" };
  }
  if (env.DATABASE_URL) {
    return { ...withoutPassword(postgresStateUrl(env.DATABASE_URL, env.MESH_SIX_STATE_TABLE)), kind: "postgres", source: "DATABASE_URL" };
  }
  return { url: embeddedFileUrl(), kind: "file", source: "embedded", envVars: {} };
}

/** A postgres:// URL's password moved out of it, into PGPASSWORD for the CLI's driver. */
function withoutPassword(postgresUrl: string): { url: string; envVars: Record<string, string> } {
  const u = new URL(postgresUrl);
  if (!u.password) return { url: postgresUrl, envVars: {} };
  const password = decodeURIComponent(u.password);
  u.password = "";
  return { url: u.toString(), envVars: { PGPASSWORD: password } };
}

/**
 * The PostgreSQL backend's URL for the server's own database. The CLI's driver (lib/pq) knows only the
 * `postgres` scheme and requires TLS unless told otherwise, while node-postgres uses plain TCP when the URL says
 * nothing: without an explicit `sslmode` the backend gets `sslmode=disable`, so both connect the same way.
 */
export function postgresStateUrl(databaseUrl: string, table = DEFAULT_STATE_TABLE): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new ConfigError("DATABASE_URL", "is not a URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new ConfigError("DATABASE_URL", "must be a postgres:// URL");
  if (!TABLE_NAME.test(table)) throw new ConfigError("MESH_SIX_STATE_TABLE", "must be a lower-case SQL identifier (letters, digits, _)");
  const params = new URLSearchParams(url.search);
  if (!params.has("sslmode")) params.set("sslmode", "disable");
  params.set("table", table);
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ""}@` : "";
  return `postgres://${auth}${url.host}${url.pathname}?${params.toString()}`;
}

export function chooseSecrets(env: NodeJS.ProcessEnv, backend: StateBackendChoice): SecretsChoice {
  const provider = env.MESH_SIX_SECRETS_PROVIDER?.trim();
  if (provider) {
    if (provider === "passphrase") {
      if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        throw new ConfigError(
          "PULUMI_CONFIG_PASSPHRASE",
          "required with MESH_SIX_SECRETS_PROVIDER=passphrase (or PULUMI_CONFIG_PASSPHRASE_FILE, e.g. a mounted Secret)",
        );
      }
      return { provider, source: "MESH_SIX_SECRETS_PROVIDER", envVars: passphraseEnv(env) };
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\/./.test(provider)) {
      throw new ConfigError("MESH_SIX_SECRETS_PROVIDER", "must be passphrase or a provider URL such as hashivault://<transit-key>");
    }
    return { provider, source: "MESH_SIX_SECRETS_PROVIDER", envVars: provider.startsWith("hashivault://") ? vaultEnv(env) : {} };
  }
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { source: "PULUMI_CONFIG_PASSPHRASE", envVars: passphraseEnv(env) };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return { source: "PULUMI_CONFIG_PASSPHRASE_FILE", envVars: passphraseEnv(env) };
  if (backend.kind !== "file") {
    throw new ConfigError(
      "MESH_SIX_SECRETS_PROVIDER",
      `required with a shared state backend (${backend.source}): set hashivault://<transit-key>, or passphrase with PULUMI_CONFIG_PASSPHRASE; a generated passphrase file would exist on one machine only`,
    );
  }
  return { source: "generated", envVars: {} };
}

// The settings may come from another environment than this process's own (a CLI flag, a test): Pulumi's processes get them explicitly.
function passphraseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { PULUMI_CONFIG_PASSPHRASE: env.PULUMI_CONFIG_PASSPHRASE };
  return env.PULUMI_CONFIG_PASSPHRASE_FILE ? { PULUMI_CONFIG_PASSPHRASE_FILE: env.PULUMI_CONFIG_PASSPHRASE_FILE } : {};
}

// gocloud's hashivault keeper reads VAULT_SERVER_URL and VAULT_SERVER_TOKEN; the rest of mesh-six names them VAULT_ADDR and VAULT_TOKEN.
function vaultEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const url = env.VAULT_SERVER_URL ?? env.VAULT_ADDR;
  const token = env.VAULT_SERVER_TOKEN ?? env.VAULT_TOKEN;
  if (!url)
    throw new ConfigError(
      "VAULT_ADDR",
      "required with MESH_SIX_SECRETS_PROVIDER=hashivault://… (Vault's transit engine encrypts the stacks' secrets)",
    );
  if (!token) throw new ConfigError("VAULT_TOKEN", "required with MESH_SIX_SECRETS_PROVIDER=hashivault://…");
  return { VAULT_SERVER_URL: url, VAULT_SERVER_TOKEN: token };
}

function kindOf(url: string): StateBackendKind {
  if (url.startsWith("file://")) return "file";
  if (url.startsWith("postgres://")) return "postgres";
  return "other";
}

/**
 * The URL this process itself connects with (a readiness check, the checkpoint look-ups): the password back in it,
 * for this process only; the CLI gets the URL without it and PGPASSWORD.
 */
export function backendCheckUrl(choice: StateBackendChoice): string {
  if (choice.kind !== "postgres" || !choice.envVars.PGPASSWORD) return choice.url;
  const u = new URL(choice.url);
  u.password = encodeURIComponent(choice.envVars.PGPASSWORD);
  return u.toString();
}

/** The URL without its password, for logs. */
export function redactBackendUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return redactUrlCredentials(url, "***");
  }
}
