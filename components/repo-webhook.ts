import * as pulumi from "@pulumi/pulumi";
import { GitHubWebhook } from "../providers/github-webhook";
import { VaultKvSecret } from "../providers/vault-kv-secret";
import { WebhookSecret } from "../providers/webhook-secret";
import { COMPONENT_TYPES } from "../domain/resource-types";

export interface RepoWebhookArgs {
  /** The repository's owner. */
  readonly owner: string;
  readonly repo: string;
  /** Where the server receives this repo's deliveries. */
  readonly url: pulumi.Input<string>;
  /** The events GitHub delivers. */
  readonly events: readonly string[];
  /** Path below the KV v2 mount `secret` (see vaultWebhookPath). */
  readonly vaultPath: string;
  /** Change to rotate the secret. @default "initial" (WebhookSecret's) */
  readonly rotation?: pulumi.Input<string>;
}

/**
 * A repository's webhook: a random HMAC secret (WebhookSecret), stored in Vault KV v2 (VaultKvSecret) where the
 * webhook receiver looks it up by repository, and the GitHub webhook (GitHubWebhook) that signs deliveries with it,
 * created once the secret is in Vault so the first delivery (GitHub's ping) verifies. Adopts what GitHubWebhook and
 * VaultKvSecret adopt: a hook already delivering to `url`, a secret already at the path. Never outputs the secret:
 * only the hook's id and the Vault path.
 */
export class RepoWebhook extends pulumi.ComponentResource {
  public readonly hookId: pulumi.Output<number>;
  public readonly vaultPath: pulumi.Output<string>;

  constructor(name: string, args: RepoWebhookArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.repoWebhook, name, {}, opts);
    const secret = new WebhookSecret(name, { rotation: args.rotation }, { parent: this });
    const stored = new VaultKvSecret(name, { path: args.vaultPath, data: { secret: secret.value } }, { parent: this });
    const hook = new GitHubWebhook(
      name,
      { owner: args.owner, repo: args.repo, url: args.url, events: [...args.events], secret: secret.value },
      // The receiver must be able to verify the first delivery (GitHub pings on creation).
      { parent: this, dependsOn: [stored] },
    );
    this.hookId = hook.hookId;
    this.vaultPath = stored.path;
    this.registerOutputs({ hookId: this.hookId, vaultPath: this.vaultPath });
  }
}
