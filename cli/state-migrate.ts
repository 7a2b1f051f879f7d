/**
 * `npm run state:migrate -- --from <backend URL> --to <backend URL> [--settings-dir DIR] [--database URL] [--no-verify]`
 *
 * Moves every stack of one state store into another (file:// or postgres://) with its history, and its settings
 * file (config, secrets provider key) into the server's database when the target is shared; then checks each
 * stack through the Pulumi CLI: the target's export has the same resources and outputs as the source's, and a
 * preview against the target proposes no change. Idempotent: a stack already there byte for byte is only checked.
 * A stack the target has with different state, or one locked by an update, is refused and nothing of it written.
 * The stacks' secrets stay under the provider they were encrypted with: give its passphrase or Vault settings in
 * the environment (PULUMI_CONFIG_PASSPHRASE[_FILE], MESH_SIX_SECRETS_PROVIDER, VAULT_ADDR/VAULT_TOKEN).
 * Exit 0: every stack migrated and verified; 1: some were refused or failed their check; 2: bad arguments.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { Pool } from "pg";
import { migrateStacks, type StackMigration } from "../pulumi/state-migration";
import { openStateStore } from "../pulumi/state-store";
import { POLICY_PACK_DIR, PROJECT_DIR, selectStack, workspaceSettings, type WorkspaceSettings } from "../pulumi/workspace";
import { migrate } from "../db/migrate";
import { DatabaseStackSettings } from "../db/stack-settings";

const USAGE =
  "usage: npm run state:migrate -- --from <file://…|postgres://…> --to <file://…|postgres://…> [--settings-dir DIR] [--database URL] [--no-verify]";

class UsageError extends Error {}

interface Args {
  from: string;
  to: string;
  settingsDir: string;
  database?: string;
  verify: boolean;
}

function parse(argv: string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: "string" },
        to: { type: "string" },
        "settings-dir": { type: "string" },
        database: { type: "string" },
        "no-verify": { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const name of ["from", "to"] as const) {
    const v = values[name];
    if (!v) throw new UsageError(`--${name}: required`);
    if (!/^(file|postgres):\/\//.test(v)) throw new UsageError(`--${name}: must be a file:// or postgres:// backend URL`);
  }
  if (values.from === values.to) throw new UsageError("--to: must differ from --from");
  const to = values.to!;
  // A shared target keeps stack settings in the server's database: by default the one holding the state table.
  let database = values.database;
  if (!database && to.startsWith("postgres://")) {
    const u = new URL(to);
    u.searchParams.delete("table");
    database = u.toString();
  }
  return {
    from: values.from!,
    to,
    settingsDir: path.resolve(values["settings-dir"] ?? PROJECT_DIR),
    database,
    verify: !values["no-verify"],
  };
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const [from, to] = await Promise.all([openStateStore(args.from), openStateStore(args.to)]);
  const pool = args.database ? new Pool({ connectionString: args.database, max: 2 }) : undefined;
  let failures = 0;
  try {
    console.error(`moving stacks from ${from.description} to ${to.description}`);
    const result = await migrateStacks(from, to);
    if (result.refusedWhole) {
      console.error(`refused: ${result.refusedWhole}`);
      return 1;
    }
    const store = pool ? new DatabaseStackSettings(pool) : undefined;
    if (pool) await migrate(pool);
    for (const stack of result.stacks) {
      if (stack.status === "refused") {
        failures++;
        console.log(`${stack.stackName}: refused: ${stack.reason}`);
        continue;
      }
      const settingsNote = store ? await moveSettings(store, args.settingsDir, stack) : "";
      if (settingsNote.startsWith("refused")) {
        failures++;
        console.log(`${stack.stackName}: ${settingsNote}`);
        continue;
      }
      const moved = stack.status === "copied" ? `copied ${stack.copied} of ${stack.blobs} blobs` : `already there (${stack.blobs} blobs)`;
      if (!args.verify) {
        console.log(`${stack.stackName}: ${moved}${settingsNote}; not verified (--no-verify)`);
        continue;
      }
      const check = await verify(stack.stackName, args, store).catch((err: Error) => ({ ok: false, detail: firstLine(err.message) }));
      if (!check.ok) failures++;
      console.log(`${stack.stackName}: ${moved}${settingsNote}; ${check.ok ? "verified" : "CHECK FAILED"}: ${check.detail}`);
    }
    console.log(
      `${result.stacks.length} stacks: ${result.stacks.length - failures} migrated and ${args.verify ? "verified" : "not verified"}, ${failures} refused or failed`,
    );
  } finally {
    await Promise.all([from.close(), to.close(), pool?.end()]);
  }
  return failures > 0 ? 1 : 0;
}

async function moveSettings(store: DatabaseStackSettings, dir: string, stack: StackMigration): Promise<string> {
  const text = await readFile(path.join(dir, `Pulumi.${stack.stackName}.yaml`), "utf8").catch(() => undefined);
  const there = await store.load(stack.stackName);
  if (text === undefined) return there === undefined ? "; no settings file" : "; settings already in the database";
  if (there !== undefined && there !== text) return `refused: the database holds different settings for ${stack.stackName} than ${dir}`;
  if (there === undefined) await store.save(stack.stackName, text);
  return there === undefined ? "; settings moved to the database" : "; settings already in the database";
}

function settingsFor(url: string, store: DatabaseStackSettings | undefined): WorkspaceSettings {
  return workspaceSettings({ ...process.env, PULUMI_BACKEND_URL: url }, { stackSettings: store });
}

async function verify(stackName: string, args: Args, store: DatabaseStackSettings | undefined): Promise<{ ok: boolean; detail: string }> {
  const source = await selectStack(stackName, settingsFor(args.from, store));
  const target = await selectStack(stackName, settingsFor(args.to, store));
  const [before, after] = await Promise.all([resourcesOf(source), resourcesOf(target)]);
  const differs = firstDifference(before, after);
  if (differs) return { ok: false, detail: `the target's resources or outputs differ from the source's at ${differs}` };
  const preview = await target.preview({ policyPacks: [POLICY_PACK_DIR] });
  const changes = Object.entries(preview.changeSummary ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
  if (changes.length > 0) return { ok: false, detail: `preview proposes ${changes.map(([op, n]) => `${n} ${op}`).join(", ")}` };
  return {
    ok: true,
    detail: `${before.length} resources with the same outputs; preview: ${preview.changeSummary?.same ?? 0} same, no changes`,
  };
}

// Pulumi's marker of an encrypted value in an exported state.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * Each resource's URN and outputs as the CLI exports them. An export encrypts every secret afresh (a new nonce each
 * time), so secrets compare as present, not by ciphertext; the preview that follows decrypts them and compares
 * them with the program's.
 */
async function resourcesOf(stack: Stack): Promise<unknown[]> {
  const state = await stack.exportStack();
  const resources = (state.deployment as { resources?: { urn: string; outputs?: unknown }[] }).resources ?? [];
  return resources.map((r) => ({ urn: r.urn, outputs: withoutCiphertexts(r.outputs ?? {}) }));
}

function withoutCiphertexts(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCiphertexts);
  if (value && typeof value === "object") {
    if (SECRET_SIG in value) return "[secret]";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutCiphertexts(v)]));
  }
  return value;
}

/** Where two JSON values first differ (a path such as `[3].outputs.name`), or undefined when they are equal. */
function firstDifference(a: unknown, b: unknown, at = ""): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const found = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`,
      );
      if (found) return found;
    }
  }
  return `${at || "the top"} (${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)})`;
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .find((l) => l.trim())
      ?.trim() ?? text
  );
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(`state migration failed: ${firstLine(err.message)}`);
    process.exit(1);
  },
);
