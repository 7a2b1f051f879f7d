import { validateOwner } from "../../stacks/names";

/**
 * Path of an organization's webhook secret below the KV v2 mount, beside the repos' (see vaultWebhookPath).
 * `orgs` is a name GitHub reserves, so no repository's `mesh-six/webhooks/<owner>/<repo>` can equal it.
 */
export function vaultOrgWebhookPath(org: string): string {
  return `mesh-six/webhooks/orgs/${validateOwner(org).toLowerCase()}`;
}
