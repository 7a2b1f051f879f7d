import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { PROJECT_DIR, selectStack, workspaceSettings } from "../../pulumi/workspace";
import { serviceNames } from "../../domain/catalog";

// `pulumi preview` of platform-prod through the real CLI and language host, against the sandbox's API server:
// every Deployment it would create runs an image pinned by Pulumi.platform-prod.yaml, none `latest`.

let stateDir: string;
let stack: Stack | undefined;
// Creating the stack writes the test passphrase's salt into the project's own stack file: put it back after.
const stackFile = path.join(PROJECT_DIR, "Pulumi.platform-prod.yaml");
let stackFileText: string | undefined;

after(async () => {
  // The stack lives in a temporary backend; its config file is the project's own and must stay.
  await stack?.workspace.removeStack("platform-prod", { force: true, preserveConfig: true }).catch(() => undefined);
  if (stackFileText !== undefined) await writeFile(stackFile, stackFileText);
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

test("the platform-prod preview creates every catalog service with its pinned image", async () => {
  stackFileText = await readFile(stackFile, "utf8");
  stateDir = await mkdtemp(path.join(tmpdir(), "mesh-six-platform-"));
  const settings = workspaceSettings({ ...process.env, PULUMI_BACKEND_URL: `file://${stateDir}`, PULUMI_CONFIG_PASSPHRASE: "test" });
  settings.envVars = { ...settings.envVars, PULUMI_CONFIG_PASSPHRASE: "test" };
  stack = await selectStack("platform-prod", settings);

  const images = new Map<string, string[]>();
  const onEvent = (event: EngineEvent) => {
    const step = event.resourcePreEvent?.metadata;
    if (step?.type !== "kubernetes:apps/v1:Deployment") return;
    const containers = (step.new?.inputs?.spec?.template?.spec?.containers ?? []) as { image: string }[];
    images.set(
      step.new?.inputs?.metadata?.name ?? step.urn,
      containers.map((c) => c.image),
    );
  };
  const result = await stack.preview({ onEvent, onOutput: () => undefined });
  assert.ok((result.changeSummary.create ?? 0) > serviceNames().length, JSON.stringify(result.changeSummary));

  const pins = YAML.parse(stackFileText).config["mesh-six:images"];
  for (const name of serviceNames()) {
    const found = images.get(name);
    assert.ok(found, `a Deployment for ${name}; saw ${[...images.keys()].join(", ")}`);
    for (const image of found) {
      assert.ok(image.endsWith(`:${pins[name]}`) || image.includes("@sha256:"), `${name} runs ${image}, pinned ${pins[name]}`);
      assert.ok(!image.endsWith(":latest"), `${name} runs latest`);
    }
  }
});
