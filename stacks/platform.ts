import { MeshService } from "../components/mesh-service";
import { OnboardingServer } from "../components/onboarding-server";
import { PlatformNamespace } from "../components/platform-namespace";
import { VaultExternalSecret } from "../components/vault-external-secret";
import { imageRef, services } from "../domain/catalog";
import { PLATFORM_SECRET_NAME, REGISTRY_PULL_SECRET } from "../domain/names";
import { readPlatformConfig } from "./platform-config";

// The platform Secret replaces the one the old system made by hand.
export { PLATFORM_SECRET_NAME, REGISTRY_PULL_SECRET };

/** Exactly the keys of `mesh-six-secrets`, each read from the Vault property of the same name. */
export const PLATFORM_SECRET_KEYS: readonly string[] = Object.freeze([
  "PG_USER",
  "PG_PASSWORD",
  "GITHUB_TOKEN",
  "VAULT_TOKEN",
  "MINIO_ACCESS_KEY",
  "MINIO_SECRET_KEY",
  "LITELLM_ADMIN_KEY",
  "GIT_USERNAME",
  "GIT_PASSWORD",
]);

/** The onboarding server's own Secret, apart from the platform's: only the server may read its API tokens. */
export const SERVER_SECRET_NAME = "onboarding-server-secrets";
export const SERVER_SECRET_KEYS: readonly string[] = Object.freeze(["MESH_SIX_API_TOKENS"]);

/** The platform stack (`platform-dev`, `platform-prod`): mesh-six itself. */
export async function platformProgram(): Promise<Record<string, unknown>> {
  const cfg = readPlatformConfig();

  // Destroying the prod namespace would take every onboarded repo's environment with it; make that a deliberate,
  // two-step act (unprotect, then destroy) rather than a mistyped stack name.
  const namespace = new PlatformNamespace(
    "mesh-six",
    { name: cfg.namespace, environment: cfg.environment },
    { protect: cfg.environment === "prod" },
  );

  const secret = new VaultExternalSecret("mesh-six-secrets", {
    namespace: namespace.name,
    secretName: PLATFORM_SECRET_NAME,
    vaultPath: cfg.vaultPath,
    keys: [...PLATFORM_SECRET_KEYS],
  });

  const serverSecret = new VaultExternalSecret("onboarding-server-secrets", {
    namespace: namespace.name,
    secretName: SERVER_SECRET_NAME,
    vaultPath: cfg.server.vaultPath,
    keys: [...SERVER_SECRET_KEYS],
  });

  const server = new OnboardingServer("onboarding-server", {
    namespace: namespace.name,
    image: cfg.serverImage,
    platformSecretName: secret.secretName,
    serverSecretName: serverSecret.secretName,
    settings: cfg.server,
    pullSecretName: REGISTRY_PULL_SECRET,
  });

  const images: Record<string, string> = {};
  for (const service of services) {
    images[service.name] = imageRef(cfg.registry, service.image, cfg.images[service.name]);
    new MeshService(service.name, {
      namespace: namespace.name,
      service,
      image: images[service.name],
      envFromSecret: secret.secretName,
      pullSecretName: REGISTRY_PULL_SECRET,
    });
  }

  return {
    environment: cfg.environment,
    namespace: namespace.name,
    secretName: secret.secretName,
    serverServiceName: server.serviceName,
    serverImage: cfg.serverImage,
    images,
  };
}
