import pino, { type DestinationStream, type LevelWithSilent, type Logger } from "pino";
import { ConfigError } from "./config-error";
import { REDACTED, redactText } from "./redact";

export type { Logger };

/**
 * Field names whose values are secrets wherever a log call puts them: at the top of the logged object, or one or two
 * objects down (a request's headers, a client's options).
 */
const SECRET_FIELDS = [
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "apiToken",
  "apiTokens",
  "vaultToken",
  "password",
  "passphrase",
  "secret",
  "fallbackSecret",
  "clientSecret",
  "client_secret",
  "authorization",
  "Authorization",
  "cookie",
  "PGPASSWORD",
  "PULUMI_CONFIG_PASSPHRASE",
  "VAULT_TOKEN",
];
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** MESH_SIX_LOG_LEVEL, default info; anything but a pino level is a configuration error. */
export function logLevelFrom(env: NodeJS.ProcessEnv): LevelWithSilent {
  const raw = env.MESH_SIX_LOG_LEVEL?.trim().toLowerCase();
  if (!raw) return "info";
  if (!(LEVELS as readonly string[]).includes(raw)) throw new ConfigError("MESH_SIX_LOG_LEVEL", `must be one of ${LEVELS.join(", ")}`);
  return raw as LevelWithSilent;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Values this process knows are secret (API tokens, the Vault token, the database password): never printed. */
  secrets?: readonly string[];
  /** Where the JSON lines go (default: stdout, written synchronously so that none is lost at exit). */
  destination?: DestinationStream;
}

// Shorter values are not worth matching: they would redact ordinary words of unrelated lines.
const SECRET_MIN_LENGTH = 6;

/**
 * The process's root logger: one JSON line per entry with `level` (its name), `time` (ISO 8601) and `msg`, and the
 * fields of the child it was logged through (`runId`, `taskId`, `deliveryId`, `component`). Secrets are redacted
 * twice over: by field name (SECRET_FIELDS) and, in the finished line, by shape (URL passwords, Authorization
 * credentials) and by value (`secrets`), so a secret quoted in an error message is caught too.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= SECRET_MIN_LENGTH);
  return pino(
    {
      level: opts.level ?? "info",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: (line) => redactText(line, secrets) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

let fallback: Logger | undefined;

/** The logger of code that was given none: JSON on stdout at MESH_SIX_LOG_LEVEL (info if that is not a level). */
export function defaultLogger(): Logger {
  if (!fallback) {
    let level: LevelWithSilent = "info";
    try {
      level = logLevelFrom(process.env);
    } catch {
      // The server refuses to start on a bad level; code run outside it logs at the default.
    }
    fallback = createLogger({ level });
  }
  return fallback;
}

/** For people (the CLI): each entry's message alone, one line on `stream`, with the same redaction. */
export function textLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return createLogger({
    destination: {
      write(line: string) {
        stream.write(`${(JSON.parse(line) as { msg?: string }).msg ?? ""}\n`);
      },
    },
  });
}
