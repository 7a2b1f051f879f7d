/**
 * The type tokens of mesh-six's own resources, written once: the components and providers register under them, and
 * the policy pack and the tests match on them. The pack reads them from here rather than from providers/, which
 * would load the Pulumi SDK into the policy process.
 */

/** A dynamic resource: pulumi.dynamic.Resource registers `(module, kind)` as `pulumi-nodejs:dynamic/<module>:<kind>`. */
export interface DynamicResourceType {
  readonly module: string;
  readonly kind: string;
  readonly token: string;
}

function dynamicType(module: string, kind: string): DynamicResourceType {
  return Object.freeze({ module, kind, token: `pulumi-nodejs:dynamic/${module}:${kind}` });
}

export const GITHUB_WEBHOOK = dynamicType("github", "RepositoryWebhook");
export const GITHUB_REPOSITORY_FILE = dynamicType("github", "RepositoryFile");
export const PROJECT_BOARD = dynamicType("github", "ProjectBoard");
export const WEBHOOK_SECRET = dynamicType("github", "WebhookSecret");
export const VAULT_KV_SECRET = dynamicType("vault", "KvSecret");
export const REPO_REGISTRATION = dynamicType("registry", "RepoRegistration");
export const AGENT_SETTINGS = dynamicType("auth", "AgentSettings");
export const LITELLM_TEAM = dynamicType("litellm", "Team");
export const STORAGE_PREFIX = dynamicType("storage", "StoragePrefix");

/** The ComponentResource type tokens (`mesh-six:<module>:<kind>`). */
export const COMPONENT_TYPES = Object.freeze({
  meshService: "mesh-six:platform:MeshService",
  onboardingServer: "mesh-six:platform:OnboardingServer",
  platformNamespace: "mesh-six:platform:Namespace",
  vaultExternalSecret: "mesh-six:secrets:VaultExternalSecret",
  repoEnvironment: "mesh-six:repo:RepoEnvironment",
  podReaderRbac: "mesh-six:repo:PodReaderRbac",
  repoWebhook: "mesh-six:repo:RepoWebhook",
  devcontainerScaffold: "mesh-six:repo:DevcontainerScaffold",
});
