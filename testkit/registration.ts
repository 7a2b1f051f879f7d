import type { Registration } from "../db/registry";
import { deliveryFiltersSchema } from "../domain/repo-config";
import { k8sNameFor, stackNameFor, vaultWebhookPath } from "../domain/names";

/**
 * A registry row as a repo stack's RepoRegistration writes it, for tests that need one without running the stack:
 * a board with one column, a webhook, the default filters; `overrides` replace whole fields.
 */
export function sampleRegistration(ref: { owner: string; repo: string }, overrides: Partial<Registration> = {}): Registration {
  return {
    ...ref,
    stackName: stackNameFor(ref),
    displayName: ref.repo,
    defaultBranch: "main",
    projectId: "PVT_1",
    projectNumber: 1,
    statusFieldId: "F_status",
    statusOptions: { Todo: "o1" },
    priorityFieldId: "F_prio",
    priorityOptions: { High: "p1" },
    textFieldIds: {},
    webhookSecretPath: vaultWebhookPath(ref),
    webhookId: 7,
    authProjectId: "",
    envStatefulSet: k8sNameFor(ref),
    envNamespace: "mesh-six",
    labels: ["mesh-six"],
    allowedAuthors: [],
    filters: deliveryFiltersSchema.parse({}),
    agentSettings: {},
    ...overrides,
  };
}
