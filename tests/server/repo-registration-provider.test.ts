import assert from "node:assert/strict";
import { test } from "node:test";
import { repoRegistrationProvider } from "../../providers/repo-registration";
import { createTestDatabase } from "../../testkit/database";
import { findRepoRules } from "../../db/registry";
import { sampleRegistration } from "../../testkit/registration";
import { serializedProvider } from "../../testkit/serialized-provider";
import { repoFilters } from "../../server/webhooks/filters";

// Pulumi serializes a dynamic provider's closure and loads it in a process of its own: plain Node.js, without tsx,
// from the project directory. The provider must find db/registry.ts (TypeScript) and pg there by itself.

const registration = sampleRegistration(
  { owner: "acme", repo: "widgets" },
  {
    displayName: "Widgets",
    textFieldIds: { "Session ID": "F_session", "Pod Name": "F_pod", "Workflow ID": "F_wf" },
    labels: ["agent"],
    filters: {
      excludeLabels: ["wontfix"],
      ignoreDrafts: true,
      ignoreBots: true,
      ignoredLogins: [],
      pullRequests: { baseBranches: ["main"], headBranches: [] },
    },
    agentSettings: { theme: "dark" },
  },
);

test("the registration provider, serialized as Pulumi does, writes, reads and deletes the row from a plain Node.js process", async () => {
  const db = await createTestDatabase("registration_provider");
  const provider = await serializedProvider(repoRegistrationProvider, { DATABASE_URL: db.url });
  try {
    assert.deepEqual(await provider.call("create", registration), { id: "acme/widgets", outs: registration });
    const { rows } = await db.pool.query(
      "SELECT stack_name, session_field_id, pod_name_field_id, workflow_field_id, auth_project_id, labels, filters, agent_settings FROM repo_registry WHERE full_name = 'acme/widgets'",
    );
    assert.deepEqual(rows, [
      {
        stack_name: "acme.widgets",
        session_field_id: "F_session",
        pod_name_field_id: "F_pod",
        workflow_field_id: "F_wf",
        auth_project_id: null,
        labels: ["agent"],
        filters: registration.filters,
        agent_settings: { theme: "dark" },
      },
    ]);
    // What the webhook receiver reads back (db/registry.ts, the same module the provider ran).
    assert.deepEqual(repoFilters((await findRepoRules(db.pool, "ACME", "widgets"))?.filters), registration.filters);
    assert.deepEqual(await provider.call("read", "acme/widgets", {}), { id: "acme/widgets", props: {} });
    await provider.call("delete", "acme/widgets", {});
    assert.deepEqual(await provider.call("read", "acme/widgets", {}), { id: "", props: {} });
  } finally {
    await provider.close();
    await db.drop();
  }
});
