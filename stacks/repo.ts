import * as pulumi from "@pulumi/pulumi";
import { DevcontainerScaffold } from "../components/devcontainer-scaffold";
import { PodReaderRbac } from "../components/pod-reader-rbac";
import { ProjectBoard } from "../providers/project-board";
import { RepoEnvironment } from "../components/repo-environment";
import { RepoRegistration } from "../providers/repo-registration";
import { RepoWebhook } from "../components/repo-webhook";
import { STORAGE_SECRET_KEYS, StoragePrefix } from "../providers/storage-prefix";
import { VaultExternalSecret } from "../components/vault-external-secret";
import { LITELLM_DEFAULT_MODEL_KEY, LITELLM_ENV_KEYS, LiteLLMTeamResource } from "../providers/litellm-team";
import { liteLLMSkipReason } from "../domain/litellm";
import { agentSettingsSkipReason } from "../domain/agent-settings";
import { AgentSettings } from "../providers/agent-settings";
import {
  k8sNameFor,
  liteLLMKeyAlias,
  repoLabels,
  stackNameFor,
  storagePrefixFor,
  vaultEnvPath,
  vaultLiteLLMPath,
  vaultStoragePath,
  vaultWebhookPath,
  webhookUrlPath,
} from "../domain/names";
import { CONFIG_NAMESPACE, type RepoStackConfig, readRepoStackConfig } from "../domain/repo-config";

/** The outputs of every repo stack; the server and the registry read these names. */
export interface RepoStackOutputs {
  fullName: string;
  stackName: string;
  namespace: string;
  envStatefulSet: pulumi.Output<string>;
  envPodName: pulumi.Output<string>;
  envService: pulumi.Output<string>;
  podReaderServiceAccount: pulumi.Output<string>;
  envSecretName: pulumi.Output<string>;
  webhookId: pulumi.Output<number>;
  webhookUrl: string;
  webhookSecretPath: pulumi.Output<string>;
  projectId: pulumi.Output<string>;
  projectNumber: pulumi.Output<number>;
  projectUrl: pulumi.Output<string>;
  devcontainerManaged: pulumi.Output<boolean>;
  /** `s3://<bucket>/<prefix>` of the repo's storage prefix, or "" without one. */
  storageUrl: pulumi.Output<string>;
  /** The repo's team on the LiteLLM proxy; absent when LiteLLM is skipped. Its key is only ever in Vault. */
  litellmTeamId?: pulumi.Output<string>;
}

export function readConfig(): RepoStackConfig {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  return readRepoStackConfig((key) => config.get(key));
}

/** One onboarded repository: its environment, access, secrets, webhook, board and registry row. */
export function repoResources(cfg: RepoStackConfig): RepoStackOutputs {
  const ref = { owner: cfg.owner, repo: cfg.repo };
  const fullName = `${cfg.owner}/${cfg.repo}`;
  const name = k8sNameFor(ref);
  const labels = repoLabels(ref);
  const annotations = { "mesh-six.dev/repository": fullName };
  const displayName = cfg.displayName ?? cfg.repo;

  const litellm = liteLLMSkipReason(cfg, process.env) === undefined ? liteLLMTeam(cfg, ref) : undefined;

  const envSecret = new VaultExternalSecret(
    "env",
    {
      namespace: cfg.namespace,
      secretName: `${name}-secrets`,
      vaultPath: vaultEnvPath(ref),
      keys: cfg.envSecretKeys,
      moreSources: litellm ? [{ vaultPath: litellm.vaultPath, keys: liteLLMEnvKeys(cfg) }] : [],
    },
    // The key is in Vault before External Secrets is told to read it.
    { dependsOn: litellm ? [litellm] : [] },
  );

  const storage = cfg.storage && storageResources(cfg, name);

  const environment = new RepoEnvironment("env", {
    name,
    namespace: cfg.namespace,
    labels,
    annotations,
    gitUrl: `${(process.env.MESH_SIX_GIT_BASE_URL ?? "https://github.com").replace(/\/$/, "")}/${fullName}.git`,
    gitRef: cfg.defaultBranch,
    envbuilderImage: cfg.envbuilderImage,
    initScript: cfg.initScript,
    fallbackImage: cfg.fallbackImage,
    cacheRepo: cfg.cacheRepo,
    pullSecretName: cfg.pullSecretName,
    resources: cfg.resources,
    workspaceStorage: cfg.workspaceStorage,
    sessionStorage: cfg.sessionStorage,
    storageClassName: cfg.storageClassName,
    envSecretName: envSecret.secretName,
    extraEnvSecretNames: storage ? [storage.secretName] : [],
  });

  const rbac = new PodReaderRbac("env", { name, namespace: cfg.namespace, labels });

  const webhookUrl = `${cfg.serverUrl.replace(/\/$/, "")}${webhookUrlPath(ref)}`;
  const webhook = new RepoWebhook("webhook", {
    owner: cfg.owner,
    repo: cfg.repo,
    url: webhookUrl,
    events: cfg.webhookEvents,
    vaultPath: vaultWebhookPath(ref),
  });

  // Settings belong to the auth project (domain/repo-config.ts refuses them without one).
  const agentSettings =
    cfg.settings && cfg.authProjectId && agentSettingsSkipReason(cfg, process.env) === undefined
      ? new AgentSettings("agent-settings", { projectId: cfg.authProjectId, displayName: fullName, settings: cfg.settings })
      : undefined;

  const board = new ProjectBoard("board", { owner: cfg.owner, repo: cfg.repo, title: `${displayName} (mesh-six)` });

  const devcontainer = new DevcontainerScaffold("devcontainer", {
    owner: cfg.owner,
    repo: cfg.repo,
    branch: cfg.defaultBranch,
    displayName,
    overwrite: cfg.overwriteDevcontainer,
  });

  new RepoRegistration("registration", {
    owner: cfg.owner,
    repo: cfg.repo,
    stackName: stackNameFor(ref),
    displayName,
    defaultBranch: cfg.defaultBranch,
    projectId: board.projectId,
    projectNumber: board.projectNumber,
    statusFieldId: board.statusFieldId,
    statusOptions: board.statusOptions,
    priorityFieldId: board.priorityFieldId,
    priorityOptions: board.priorityOptions,
    textFieldIds: board.textFieldIds,
    webhookSecretPath: webhook.vaultPath,
    webhookId: webhook.hookId,
    authProjectId: cfg.authProjectId,
    envStatefulSet: environment.statefulSetName,
    envNamespace: cfg.namespace,
    labels: cfg.labels,
    allowedAuthors: cfg.allowedAuthors,
    filters: cfg.filters,
    // What the auth project holds of the repo's, once it does.
    agentSettings: agentSettings ? agentSettings.settings : {},
  });

  return {
    fullName,
    stackName: stackNameFor(ref),
    namespace: cfg.namespace,
    envStatefulSet: environment.statefulSetName,
    envPodName: environment.podName,
    envService: environment.serviceName,
    podReaderServiceAccount: rbac.serviceAccountName,
    envSecretName: envSecret.secretName,
    webhookId: webhook.hookId,
    webhookUrl,
    webhookSecretPath: webhook.vaultPath,
    projectId: board.projectId,
    projectNumber: board.projectNumber,
    projectUrl: board.url,
    devcontainerManaged: devcontainer.managed,
    storageUrl: storage ? storage.url : pulumi.output(""),
    ...(litellm ? { litellmTeamId: litellm.teamId } : {}),
  };
}

function liteLLMTeam(cfg: RepoStackConfig, ref: { owner: string; repo: string }): LiteLLMTeamResource {
  const settings = cfg.litellm ?? {};
  return new LiteLLMTeamResource("litellm", {
    teamAlias: settings.teamAlias ?? `${cfg.owner}/${cfg.repo}`.toLowerCase(),
    models: settings.models ?? [],
    maxBudget: settings.maxBudget,
    defaultModel: settings.defaultModel,
    rotateKeyNonce: settings.rotateKeyNonce,
    keyAlias: liteLLMKeyAlias(ref),
    vaultPath: vaultLiteLLMPath(ref),
    // The environment may reach the proxy at another address than the server does (LITELLM_ENV_API_BASE).
    envBaseUrl: process.env.LITELLM_ENV_API_BASE || process.env.LITELLM_API_BASE!,
  });
}

/** The variables the environment's Secret takes from the LiteLLM key's Vault secret. */
function liteLLMEnvKeys(cfg: RepoStackConfig): string[] {
  return [...LITELLM_ENV_KEYS, ...(cfg.litellm?.defaultModel ? [LITELLM_DEFAULT_MODEL_KEY] : [])];
}

/** The repo stack's program: read and validate config, declare the resources, export the outputs. */
export async function repoProgram(): Promise<RepoStackOutputs> {
  return repoResources(readConfig());
}

/** The repo's storage prefix and the Secret that brings its key into the environment. */
function storageResources(cfg: RepoStackConfig, name: string) {
  const ref = { owner: cfg.owner, repo: cfg.repo };
  const storage = cfg.storage!;
  const prefix = new StoragePrefix("storage", {
    bucket: storage.bucket,
    prefix: storagePrefixFor(ref),
    userName: k8sNameFor(ref, "s3"),
    vaultPath: vaultStoragePath(ref),
    keepObjects: storage.keepOnOffboard,
  });
  const secret = new VaultExternalSecret(
    "storage",
    { namespace: cfg.namespace, secretName: `${name}-storage`, vaultPath: vaultStoragePath(ref), keys: [...STORAGE_SECRET_KEYS] },
    { dependsOn: [prefix] },
  );
  return { secretName: secret.secretName, url: pulumi.interpolate`s3://${prefix.bucket}/${prefix.prefix}` };
}
