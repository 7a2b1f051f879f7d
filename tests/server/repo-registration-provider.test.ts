import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { repoRegistrationProvider } from "../../providers/repo-registration";
import { createTestDatabase } from "../../testkit/database";
import { PROJECT_DIR } from "../../pulumi/workspace";

// Pulumi serializes a dynamic provider's closure and loads it in a process of its own: plain Node.js, without tsx,
// from the project directory. The provider must find db/registry.ts (TypeScript) and pg there by itself.

const execFileAsync = promisify(execFile);

const registration = {
  owner: "acme",
  repo: "widgets",
  stackName: "acme.widgets",
  displayName: "Widgets",
  defaultBranch: "main",
  projectId: "PVT_1",
  projectNumber: 1,
  statusFieldId: "F_status",
  statusOptions: { Todo: "o1" },
  priorityFieldId: "F_prio",
  priorityOptions: { High: "p1" },
  textFieldIds: { "Session ID": "F_session", "Pod Name": "F_pod", "Workflow ID": "F_wf" },
  webhookSecretPath: "mesh-six/webhooks/repos/acme/widgets",
  webhookId: 7,
  authProjectId: "",
  envStatefulSet: "env-acme-widgets",
  envNamespace: "mesh-six",
  labels: ["agent"],
  allowedAuthors: [],
};

test("the registration provider, serialized as Pulumi does, writes, reads and deletes the row from a plain Node.js process", async () => {
  const db = await createTestDatabase("registration_provider");
  const dir = await mkdtemp(path.join(tmpdir(), "mesh-six-provider-"));
  try {
    const serialized = await pulumi.runtime.serializeFunction(() => repoRegistrationProvider, { allowSecrets: true });
    const closure = path.join(dir, "provider.js");
    await writeFile(closure, serialized.text);
    const requireFromString = require.resolve("require-from-string", { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] });
    // What the dynamic-provider entry does with the closure text, then one operation named on the command line.
    const driver = `
      const text = require("node:fs").readFileSync(${JSON.stringify(closure)}, "utf8");
      const provider = require(${JSON.stringify(requireFromString)})(text).handler();
      const [op, arg] = process.argv.slice(1);
      const args = op === "create" ? [JSON.parse(arg)] : [arg, {}];
      provider[op](...args).then((r) => console.log(JSON.stringify(r ?? null)), (e) => { console.error(e.message); process.exit(1); });`;
    const run = async (op: string, arg: string) => {
      const env = { PATH: process.env.PATH ?? "", DATABASE_URL: db.url };
      const { stdout } = await execFileAsync(process.execPath, ["-e", driver, op, arg], { cwd: PROJECT_DIR, env });
      return JSON.parse(stdout) as unknown;
    };

    assert.deepEqual(await run("create", JSON.stringify(registration)), { id: "acme/widgets", outs: registration });
    const { rows } = await db.pool.query(
      "SELECT stack_name, session_field_id, pod_name_field_id, workflow_field_id, auth_project_id, labels FROM repo_registry WHERE full_name = 'acme/widgets'",
    );
    assert.deepEqual(rows, [
      {
        stack_name: "acme.widgets",
        session_field_id: "F_session",
        pod_name_field_id: "F_pod",
        workflow_field_id: "F_wf",
        auth_project_id: null,
        labels: ["agent"],
      },
    ]);
    assert.deepEqual(await run("read", "acme/widgets"), { id: "acme/widgets", props: {} });
    await run("delete", "acme/widgets");
    assert.deepEqual(await run("read", "acme/widgets"), { id: "", props: {} });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  }
});
