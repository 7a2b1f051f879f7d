import type { Policies } from "@pulumi/policy";
import { containerResources } from "./container-resources";
import { envbuilderNoHttpProbes } from "./envbuilder-no-http-probes";
import { externalSecretStore } from "./external-secret-store";
import { githubWebhook } from "./github-webhook";
import { imagePinned, imagePinnedInProd } from "./image-pinned";
import { noLiteralSecretEnv } from "./no-literal-secret-env";
import { privateRegistryPullSecrets } from "./private-registry-pull-secrets";
import { noClusterRbacInRepoStacks, rbacNoWildcards } from "./rbac";
import { webhookSecretPath } from "./webhook-secret-path";

/** Every rule of the mesh-six pack. A resource's findings come in this order: its images first, then its workload, RBAC, secrets and webhooks. */
export const POLICIES: Policies = [
  imagePinnedInProd,
  imagePinned,
  privateRegistryPullSecrets,
  envbuilderNoHttpProbes,
  containerResources,
  rbacNoWildcards,
  noClusterRbacInRepoStacks,
  externalSecretStore,
  githubWebhook,
  webhookSecretPath,
  noLiteralSecretEnv,
];
