import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LocalWorkspace, Stack, StackAlreadyExistsError } from "@pulumi/pulumi/automation";
import { isMap, isScalar, parse, parseDocument, stringify } from "yaml";
import { type RepoRef, stackNameFor } from "../domain/names";
import { type RepoStackInput, toStackConfig } from "../domain/repo-config";
import { ConfigError } from "../lib/config-error";
import { KnownAnswers } from "./known-answers";
import { type CommandSignals, signalledCommand } from "./pulumi-command";
import { hasStackCheckpoint } from "./state-store";
import { backendCheckUrl, chooseSecrets, chooseStateBackend, type SecretsChoice, type StateBackendChoice } from "./state-backend";

/**
 * Where and how stacks run: the project (the same Pulumi.yaml and index.ts the CLI uses, so
 * `pulumi up -s <owner>.<repo>` and the server never disagree), the state backend, the secrets provider and
 * the CLI.
 *
 * With the embedded file backend the workspace is the project directory itself, as a CLI user's checkout is.
 * With a shared backend nothing may depend on the local disk: the workspace is a scratch directory of this
 * process (a generated Pulumi.yaml whose `main` is the project's program), and each stack's settings file
 * (`Pulumi.<stack>.yaml`: its config and its secrets provider's key) lives in the database, restored before
 * every command and saved after every change.
 */
export const PROJECT_DIR = path.resolve(__dirname, "..");
export const DEFAULT_STATE_DIR = path.join(PROJECT_DIR, ".pulumi-state");
const PROJECT_NAME = (parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { name: string }).name;
/** The CrossGuard pack every preview and update runs with, whoever starts it (server, CLI, CI). */
export const POLICY_PACK_DIR = path.join(PROJECT_DIR, "policies");

/** Where a shared backend's stack settings files are kept between commands (the server's database). */
export interface StackSettingsStore {
  load(stackName: string): Promise<string | undefined>;
  save(stackName: string, text: string): Promise<void>;
  remove(stackName: string): Promise<void>;
}

export interface WorkspaceSettings {
  backendUrl: string;
  backend: StateBackendChoice;
  secrets: SecretsChoice;
  /** Environment of every Pulumi run (backend, secrets, and the service endpoints the providers read). */
  envVars: Record<string, string>;
  pulumiRoot?: string;
  /** The directory holding Pulumi.yaml and the stacks' settings files. */
  workDir: string;
  /** Required unless the workspace is the project directory: where settings files survive this process. */
  stackSettings?: StackSettingsStore;
}

export interface WorkspaceSettingsOptions {
  /** Scratch space for a shared backend's workspace (default: a new directory under the OS temp dir). */
  scratchDir?: string;
  stackSettings?: StackSettingsStore;
}

/**
 * Settings from the environment: PULUMI_BACKEND_URL or DATABASE_URL, MESH_SIX_SECRETS_PROVIDER or
 * PULUMI_CONFIG_PASSPHRASE[_FILE], MESH_SIX_TOOLS (see state-backend.ts for which wins).
 */
export function workspaceSettings(env: NodeJS.ProcessEnv = process.env, opts: WorkspaceSettingsOptions = {}): WorkspaceSettings {
  const backend = chooseStateBackend(env, () => {
    mkdirSync(DEFAULT_STATE_DIR, { recursive: true, mode: 0o700 });
    return `file://${DEFAULT_STATE_DIR}`;
  });
  const secrets = chooseSecrets(env, backend);
  const envVars: Record<string, string> = { ...backend.envVars, PULUMI_BACKEND_URL: backend.url, ...secrets.envVars };
  if (secrets.source === "generated") envVars.PULUMI_CONFIG_PASSPHRASE_FILE = defaultPassphraseFile();
  linkPluginCache(env);
  const tools = env.MESH_SIX_TOOLS ?? path.join(PROJECT_DIR, ".tools");
  const pulumiRoot = existsSync(path.join(tools, "bin", "pulumi")) ? tools : undefined;
  const inProject = backend.kind === "file";
  const workDir = inProject ? PROJECT_DIR : scratchWorkspace(opts.scratchDir);
  return { backendUrl: backend.url, backend, secrets, envVars, pulumiRoot, workDir, stackSettings: opts.stackSettings };
}

/**
 * A pod's PULUMI_HOME is an empty volume (the CLI writes its workspace files there), while the plugins are in the
 * image (MESH_SIX_PULUMI_PLUGINS): linked in once, so the CLI finds them in its plugin cache. On PATH instead, the
 * CLI would warn on every run that it uses an "ambient" kubernetes plugin.
 */
function linkPluginCache(env: NodeJS.ProcessEnv): void {
  const plugins = env.MESH_SIX_PULUMI_PLUGINS;
  if (!plugins || !env.PULUMI_HOME) return;
  const link = path.join(env.PULUMI_HOME, "plugins");
  if (existsSync(link)) return;
  mkdirSync(env.PULUMI_HOME, { recursive: true });
  symlinkSync(plugins, link);
}

// The embedded default keeps stack secrets under a passphrase generated once per state directory.
function defaultPassphraseFile(): string {
  const file = path.join(DEFAULT_STATE_DIR, ".passphrase");
  if (!existsSync(file)) {
    mkdirSync(DEFAULT_STATE_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600, flag: "wx" });
  }
  readFileSync(file); // fail here, clearly, if it is unreadable
  return file;
}

/** A workspace of this process only: Pulumi.yaml as the project's, its program where the project is. */
function scratchWorkspace(parent?: string): string {
  const base = parent ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, "mesh-six-workspace-"));
  const project = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
  project.main = path.join(PROJECT_DIR, typeof project.main === "string" ? project.main : ".");
  const options = (project.runtime as { options?: { nodeargs?: unknown } } | undefined)?.options;
  if (typeof options?.nodeargs === "string") options.nodeargs = projectRelativeNodeArgs(options.nodeargs);
  writeFileSync(path.join(dir, "Pulumi.yaml"), stringify(project));
  scratchDirs.add(dir);
  return dir;
}

/**
 * Pulumi.yaml's nodeargs with each module its --require/-r/--import names by a relative path made absolute: the
 * language host takes such a path from the manifest's directory, here the scratch one, not the project.
 */
export function projectRelativeNodeArgs(nodeargs: string): string {
  const args = nodeargs.split(/\s+/).filter(Boolean);
  return args
    .map((arg, i) =>
      ["--require", "-r", "--import"].includes(args[i - 1] ?? "") && /^\.\.?\//.test(arg) ? path.join(PROJECT_DIR, arg) : arg,
    )
    .join(" ");
}

// Scratch workspaces are this process's alone: nothing in them is read by the next one, so they go with it.
const scratchDirs = new Set<string>();
process.once("exit", () => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

function settingsFile(settings: WorkspaceSettings, stackName: string): string {
  return path.join(settings.workDir, `Pulumi.${stackName}.yaml`);
}

function storeOf(settings: WorkspaceSettings): StackSettingsStore | undefined {
  if (settings.workDir === PROJECT_DIR) return undefined;
  if (!settings.stackSettings) {
    throw new ConfigError("DATABASE_URL", "a shared state backend keeps each stack's settings in the server's database; none was given");
  }
  return settings.stackSettings;
}

async function restoreStackSettings(settings: WorkspaceSettings, stackName: string): Promise<void> {
  const store = storeOf(settings);
  if (!store) return;
  const text = await store.load(stackName);
  if (text === undefined) await rm(settingsFile(settings, stackName), { force: true });
  else await writeFile(settingsFile(settings, stackName), text, { mode: 0o600 });
}

/** Keeps what the CLI wrote to the stack's settings file (config, secrets provider key) where every replica finds it. */
export async function saveStackSettings(settings: WorkspaceSettings, stackName: string): Promise<void> {
  const store = storeOf(settings);
  if (!store) return;
  const text = await readFile(settingsFile(settings, stackName), "utf8").catch(() => undefined);
  if (text !== undefined) await store.save(stackName, text);
}

/** Removes a stack from the backend, with its settings wherever they are kept. */
export async function removeStack(stack: Stack, settings: WorkspaceSettings, opts?: { force?: boolean }): Promise<void> {
  await stack.workspace.removeStack(stack.name, opts);
  await storeOf(settings)?.remove(stack.name);
}

/**
 * Selects (or creates) a repo's stack in the project and writes its config. `signals` reach every command of the
 * stack, these and the operations run on it later; `answers` answer the commands whose answer is known (see
 * selectStack). The config is written with one CLI command, and none when the stack's settings file already holds it.
 */
export async function selectRepoStack(
  input: RepoStackInput,
  settings = workspaceSettings(),
  signals: CommandSignals = {},
  answers = new KnownAnswers(),
): Promise<Stack> {
  const stack = await selectStack(stackNameFor(input as RepoRef), settings, signals, answers);
  const config = toStackConfig(input);
  const file = settingsFile(settings, stack.name);
  // A key left out of this request goes back to its default rather than keeping an older run's value: dropped from
  // the settings file here (plain keys of the CLI's own format), rather than read and removed by two more commands.
  const written = await writtenConfig(file, config);
  if (!sameConfig(written, config)) await stack.setAllConfig(config);
  await saveStackSettings(settings, stack.name);
  return stack;
}

/**
 * The `mesh-six:` config in the settings file `file`, after dropping from it the keys `config` leaves out; values
 * as written (plain strings), or undefined where the CLI keeps another form (an encrypted value).
 */
async function writtenConfig(file: string, config: Record<string, { value: string }>): Promise<Record<string, string | undefined>> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return {};
  const doc = parseDocument(text);
  const map = doc.get("config");
  if (!isMap(map)) return {};
  const written: Record<string, string | undefined> = {};
  const stale: unknown[] = [];
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !key.startsWith("mesh-six:")) continue;
    if (!(key in config)) stale.push(pair.key);
    else written[key] = isScalar(pair.value) && typeof pair.value.value === "string" ? pair.value.value : undefined;
  }
  if (stale.length > 0) {
    for (const key of stale) map.delete(key);
    await writeFile(file, doc.toString(), { mode: 0o600 });
  }
  return written;
}

function sameConfig(written: Record<string, string | undefined>, config: Record<string, { value: string; secret?: boolean }>): boolean {
  return Object.entries(config).every(([key, v]) => !v.secret && written[key] === v.value);
}

/**
 * Selects (or creates) any stack of the project by name; `signals` as for selectRepoStack. A stack whose checkpoint
 * the backend holds is selected without the CLI (every later command names it with --stack); a new one is created
 * with one `stack init`. `answers` are then the ones of every command of this stack: the runner has them observe
 * each operation's events, so that the outputs and summary the Automation API reads after it need no CLI either.
 */
export async function selectStack(
  stackName: string,
  settings = workspaceSettings(),
  signals: CommandSignals = {},
  answers = new KnownAnswers(),
): Promise<Stack> {
  await restoreStackSettings(settings, stackName);
  const workspace = await LocalWorkspace.create({
    workDir: settings.workDir,
    envVars: settings.envVars,
    pulumiCommand: await signalledCommand(settings.pulumiRoot, signals, answers),
    secretsProvider: settings.secrets.provider,
  });
  const exists = await hasStackCheckpoint(backendCheckUrl(settings.backend), PROJECT_NAME, stackName);
  if (exists) answers.stackExists(stackName);
  const stack =
    exists === false
      ? await Stack.create(stackName, workspace).catch((err: unknown) => {
          // Made since the look (another replica's run of it failed after creating it): selected, as before.
          if (err instanceof StackAlreadyExistsError) return Stack.select(stackName, workspace);
          throw err;
        })
      : exists
        ? await Stack.select(stackName, workspace)
        : await Stack.createOrSelect(stackName, workspace);
  // A new stack's settings file now holds its secrets provider's key: without it no replica could read its secrets.
  await saveStackSettings(settings, stackName);
  return stack;
}
