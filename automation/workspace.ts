import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { type RepoRef, stackNameFor } from "../stacks/names";
import { type RepoStackInput, toStackConfig } from "../stacks/repo-config";

/**
 * Where and how stacks run: the project directory (the same Pulumi.yaml and index.ts the CLI uses, so
 * `pulumi up -s <owner>.<repo>` and the server never disagree), the state backend, the secrets passphrase and
 * the CLI. The local file backend under the project is the embedded default; PULUMI_BACKEND_URL overrides it.
 */
// MESH_SIX_PROJECT_DIR moves it out of the code: the image's code is read-only, so its entrypoint links the code
// into a writable directory (image/entrypoint) where the stacks' Pulumi.<stack>.yaml files can be written.
export const PROJECT_DIR = path.resolve(process.env.MESH_SIX_PROJECT_DIR || path.resolve(__dirname, ".."));
export const DEFAULT_STATE_DIR = path.join(PROJECT_DIR, ".pulumi-state");
/** The CrossGuard pack every preview and update runs with, whoever starts it (server, CLI, CI). */
export const POLICY_PACK_DIR = path.join(PROJECT_DIR, "policies");

export interface WorkspaceSettings {
  backendUrl: string;
  /** Environment of every Pulumi run (backend, passphrase, and the service endpoints the providers read). */
  envVars: Record<string, string>;
  pulumiRoot?: string;
}

/** Settings from the environment: PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE (or its file), MESH_SIX_TOOLS. */
export function workspaceSettings(env: NodeJS.ProcessEnv = process.env): WorkspaceSettings {
  let backendUrl = env.PULUMI_BACKEND_URL;
  if (!backendUrl) {
    mkdirSync(DEFAULT_STATE_DIR, { recursive: true, mode: 0o700 });
    backendUrl = `file://${DEFAULT_STATE_DIR}`;
  }
  const envVars: Record<string, string> = { PULUMI_BACKEND_URL: backendUrl };
  if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    envVars.PULUMI_CONFIG_PASSPHRASE_FILE = defaultPassphraseFile();
  }
  const tools = env.MESH_SIX_TOOLS ?? path.join(PROJECT_DIR, ".tools");
  const pulumiRoot = existsSync(path.join(tools, "bin", "pulumi")) ? tools : undefined;
  return { backendUrl, envVars, pulumiRoot };
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

async function pulumiCommand(settings: WorkspaceSettings): Promise<PulumiCommand | undefined> {
  return settings.pulumiRoot ? PulumiCommand.get({ root: settings.pulumiRoot }) : undefined;
}

/** Selects (or creates) a repo's stack in the project and writes its config. */
export async function selectRepoStack(input: RepoStackInput, settings = workspaceSettings()): Promise<Stack> {
  const stack = await selectStack(stackNameFor(input as RepoRef), settings);
  const config = toStackConfig(input);
  // A key left out of this request goes back to its default rather than keeping an older run's value.
  const stale = Object.keys(await stack.getAllConfig()).filter((k) => k.startsWith("mesh-six:") && !(k in config));
  if (stale.length > 0) await stack.removeAllConfig(stale);
  await stack.setAllConfig(config);
  return stack;
}

/** Selects (or creates) any stack of the project by name. */
export async function selectStack(stackName: string, settings = workspaceSettings()): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName, workDir: PROJECT_DIR },
    { envVars: settings.envVars, pulumiCommand: await pulumiCommand(settings) },
  );
}
