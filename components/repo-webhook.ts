import * as pulumi from "@pulumi/pulumi";
import { GitHubWebhook } from "../providers/github-webhook";
import { VaultKvSecret } from "../providers/vault-kv-secret";
import { WebhookSecret } from "../providers/webhook-secret";

/**
 * A repository's webhook: a random HMAC secret, stored in Vault KV v2 where the webhook receiver looks it up by
 * repository, and the GitHub webhook that signs deliveries with it.
 */
export interface RepoWebhookArgs {
  owner: string;
  repo: string;
  /** Where the server receives this repo's deliveries. */
  url: pulumi.Input<string>;
  events: string[];
  /** Path below the KV v2 mount `secret` (see vaultWebhookPath). */
  vaultPath: string;
  /** Change to rotate the secret. */
  rotation?: pulumi.Input<string>;
}

export class RepoWebhook extends pulumi.ComponentResource {
  public readonly hookId: pulumi.Output<number>;
  public readonly vaultPath: pulumi.Output<string>;

  constructor(name: string, args: RepoWebhookArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh-six:repo:RepoWebhook", name, {}, opts);
    const secret = new WebhookSecret(name, { rotation: args.rotation }, { parent: this });
    const stored = new VaultKvSecret(name, { path: args.vaultPath, data: { secret: secret.value } }, { parent: this });
    const hook = new GitHubWebhook(
      name,
      { owner: args.owner, repo: args.repo, url: args.url, events: args.events, secret: secret.value },
      // The receiver must be able to verify the first delivery (GitHub pings on creation).
      { parent: this, dependsOn: [stored] },
    );
    this.hookId = hook.hookId;
    this.vaultPath = stored.path;
    this.registerOutputs({ hookId: this.hookId, vaultPath: this.vaultPath });
  }
}
