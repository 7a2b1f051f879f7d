import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { fingerprintOf, hashOf, type RunFingerprint } from "../domain/fingerprint";
import { type RepoStackInput, toStackConfig } from "../domain/repo-config";
import type { RunRecord } from "../domain/runs";
import { openStateStore } from "./state-store";
import { backendCheckUrl, redactBackendUrl } from "./state-backend";
import { PROJECT_DIR, type WorkspaceSettings } from "./workspace";

/**
 * What an onboard or update would apply, as named hashes (domain/fingerprint.ts): the program build, the stack config
 * the run writes, the toolchain that runs it and the inputs the program reads outside its config. Everything but the
 * config is the same for every run of this process, so it is computed once, at start.
 */
export interface RunFingerprinter {
  /** Throws what toStackConfig throws for a request that is no valid stack input (the run then fails as it would). */
  fingerprint(run: RunRecord, extra?: Record<string, string>): RunFingerprint;
  /** A hash of the stack's state checkpoint as the backend holds it; undefined without one (or a backend not read here). */
  stateIdentity(stackName: string): Promise<string | undefined>;
}

export interface FingerprintParts {
  /** programBuildIdentity() */
  program: string;
  /** toolchainComponents(), named without their `toolchain:` prefix */
  toolchain: Record<string, string>;
  /** inputComponents(), named with their prefix (`env:`, `state:`) */
  inputs: Record<string, string>;
  stateIdentity?: (stackName: string) => Promise<string | undefined>;
}

/**
 * Everything the program and the policy pack load, relative to the project: the Pulumi project file, the lockfile (the
 * SDKs' and every package's versions), the folders their modules are in (tests/unit/run-fingerprint.test.ts checks that
 * the module graph of `index.ts` and `policies/index.ts` stays inside them) and `dist/`, the prebuilt JavaScript, when
 * there is one. More than the program reads (a server-only file of `lib/`) costs one real run after a deployment.
 */
export const PROGRAM_BUILD_PATHS = [
  "Pulumi.yaml",
  "package-lock.json",
  "tsconfig.json",
  "index.ts",
  "components",
  "db",
  "domain",
  "lib",
  "policies",
  "providers",
  "stacks",
  "dist",
];

/**
 * The environment the program, its dynamic providers and the kubernetes plugin read (tests/unit/run-fingerprint.test.ts
 * finds every `env.NAME` of the program's modules here). Only hashes of their values are kept.
 */
export const PROGRAM_ENV = [
  "DATABASE_URL",
  "GITHUB_API_URL",
  "GITHUB_GRAPHQL_URL",
  "GITHUB_TOKEN",
  "MESH_SIX_GITHUB_MAX_WAIT_S",
  "MESH_SIX_GITHUB_RETRIES",
  "MESH_SIX_GITHUB_RETRY_BASE_MS",
  "MESH_SIX_GITHUB_WRITE_INTERVAL_MS",
  // The auth service whose project settings the repo's agent settings are merged into.
  "MESH_SIX_AUTH_SERVICE_URL",
  "MESH_SIX_GIT_BASE_URL",
  "LITELLM_API_BASE",
  "LITELLM_ENV_API_BASE",
  "LITELLM_MASTER_KEY",
  "MESH_SIX_S3_ENDPOINT",
  "MESH_SIX_S3_IAM_ENDPOINT",
  "MESH_SIX_S3_ACCESS_KEY_ID",
  "MESH_SIX_S3_SECRET_ACCESS_KEY",
  "MESH_SIX_S3_REGION",
  "VAULT_ADDR",
  "VAULT_TOKEN",
  // The kubernetes plugin's cluster: a kubeconfig's path, or the in-cluster service.
  "KUBECONFIG",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
];

/** One hash of every file under PROGRAM_BUILD_PATHS, names and bytes, in a stable order. */
export function programBuildIdentity(root = PROJECT_DIR): string {
  const parts: string[] = [];
  for (const entry of PROGRAM_BUILD_PATHS) {
    for (const file of filesUnder(root, entry)) parts.push(`${file}\0${hashOf(readFileSync(path.join(root, file)))}`);
  }
  return hashOf(parts.join("\n"));
}

function filesUnder(root: string, entry: string): string[] {
  const full = path.join(root, entry);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

const run = promisify(execFile);

/**
 * The CLI's `pulumi version`, what sits beside it (the language host, the dynamic-provider shim, bundled plugins: names
 * and sizes), the plugin cache's plugins (their directory names carry their versions) and Node's version.
 */
export async function toolchainComponents(
  settings: WorkspaceSettings,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const cli = settings.pulumiRoot ? path.join(settings.pulumiRoot, "bin", "pulumi") : onPath("pulumi", env.PATH);
  let version: string;
  try {
    version = cli
      ? (await run(cli, ["version"], { env: { ...env, ...settings.envVars }, timeout: 30_000 })).stdout.trim()
      : "no pulumi CLI";
  } catch (err) {
    version = `pulumi version failed: ${(err as Error).message.split("\n")[0]}`;
  }
  const home = settings.envVars.PULUMI_HOME ?? env.PULUMI_HOME ?? path.join(homedir(), ".pulumi");
  return {
    pulumi: version,
    "cli-dir": cli ? listing(path.dirname(cli), true) : "",
    plugins: listing(path.join(home, "plugins"), false),
    node: process.version,
  };
}

function onPath(name: string, pathVar = ""): string | undefined {
  return pathVar
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((f) => existsSync(f));
}

function listing(dir: string, sizes: boolean): string {
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .sort()
    .map((name) => (sizes ? `${name} ${statSync(path.join(dir, name)).size}` : name))
    .join("\n");
}

/** The state backend and secrets provider, and PROGRAM_ENV as a run's Pulumi processes see it (the workspace's variables win). */
export function inputComponents(settings: WorkspaceSettings, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const seen: Record<string, string | undefined> = { ...env, ...settings.envVars };
  const inputs: Record<string, string> = {
    // Where the state is, not how one logs in to it: a password changed is the same backend.
    "state:backend": hashOf(redactBackendUrl(settings.backendUrl)),
    "state:secrets": hashOf(settings.secrets.provider ?? "passphrase"),
  };
  const secrets: [string, string][] = [];
  for (const name of PROGRAM_ENV) {
    const value = seen[name];
    if (value === undefined) continue;
    if (SECRET_ENV.has(name)) secrets.push([name, value]);
    else inputs[`env:${name}`] = hashOf(value);
  }
  if (secrets.length > 0) inputs["secrets:env"] = hashOf(JSON.stringify(secrets));
  return inputs;
}

/**
 * The variables of PROGRAM_ENV that hold a credential (a database URL may carry a password). A fingerprint is part of
 * the run record the API shows: the hash of one secret alone would let a reader confirm a guess of it (a short
 * token, a default password), so they are hashed together, as one component (`secrets:env`), and a change of any
 * of them is named as a change of that component only.
 */
const SECRET_ENV = new Set([
  "DATABASE_URL",
  "GITHUB_TOKEN",
  "LITELLM_MASTER_KEY",
  "MESH_SIX_S3_ACCESS_KEY_ID",
  "MESH_SIX_S3_SECRET_ACCESS_KEY",
  "VAULT_TOKEN",
]);

/** A fingerprinter of fixed program, toolchain and input parts; the config and options come from each run. */
export function fingerprinterFrom(parts: FingerprintParts): RunFingerprinter {
  const fixed: Record<string, string> = { program: parts.program, ...parts.inputs };
  for (const [name, value] of Object.entries(parts.toolchain)) fixed[`toolchain:${name}`] = hashOf(value);
  return {
    fingerprint(record, extra = {}) {
      const components: Record<string, string> = { ...fixed, ...extra, "options:skipAuth": String(record.options.skipAuth === true) };
      // Secret config values hashed together, for the reason SECRET_ENV's are.
      const secrets: [string, string][] = [];
      for (const [key, { value, secret }] of Object.entries(toStackConfig(record.request as RepoStackInput))) {
        if (secret) secrets.push([key, value]);
        else components[`config:${key}`] = hashOf(value);
      }
      if (secrets.length > 0) components["secrets:config"] = hashOf(JSON.stringify(secrets));
      return fingerprintOf(components);
    },
    stateIdentity: parts.stateIdentity ?? (() => Promise.resolve(undefined)),
  };
}

/** The server's fingerprinter: the program build, toolchain and inputs of these settings, read now. */
export async function createRunFingerprinter(settings: WorkspaceSettings, env: NodeJS.ProcessEnv = process.env): Promise<RunFingerprinter> {
  return fingerprinterFrom({
    program: programBuildIdentity(),
    toolchain: await toolchainComponents(settings, env),
    inputs: inputComponents(settings, env),
    stateIdentity: (stackName) => checkpointIdentity(settings, stackName),
  });
}

const PROJECT_NAME = (parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { name: string }).name;

/** The stack's checkpoint blob (`.pulumi/stacks/<project>/<stack>.json[.gz]`) hashed, from either store this project reads. */
export async function checkpointIdentity(settings: WorkspaceSettings, stackName: string): Promise<string | undefined> {
  if (settings.backend.kind === "other") return undefined;
  const store = await openStateStore(backendCheckUrl(settings.backend));
  try {
    const key = `.pulumi/stacks/${PROJECT_NAME}/${stackName}.json`;
    const blob = (await store.read(key)) ?? (await store.read(`${key}.gz`));
    return blob ? hashOf(blob) : undefined;
  } finally {
    await store.close();
  }
}
