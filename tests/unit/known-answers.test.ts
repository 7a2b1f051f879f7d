import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { KnownAnswers } from "../../pulumi/known-answers";
import { checkPulumiCli } from "../../pulumi/pulumi-command";
import { type StackSettingsStore, type WorkspaceSettings, selectRepoStack } from "../../pulumi/workspace";

// A run asks the CLI only what it does not know: a stack whose checkpoint is in the backend is selected without it,
// the config is written with one command (none when the settings file holds it already), and an operation's outputs
// and summary come from its own events.

const outputsEvent = (outputs: Record<string, unknown>) =>
  ({
    resOutputsEvent: { metadata: { type: "pulumi:pulumi:Stack", urn: "urn:x", op: "same", new: { outputs } } },
  }) as unknown as EngineEvent;
const summaryEvent = (changes: Record<string, number>) => ({ summaryEvent: { resourceChanges: changes } }) as unknown as EngineEvent;

test("an operation's stack outputs and summary answer the outputs and history the Automation API reads after it", () => {
  const answers = new KnownAnswers();
  assert.equal(answers.answer(["stack", "select", "--stack", "a.b"]), undefined, "a stack not known to exist is the CLI's question");
  answers.stackExists("a.b");
  assert.equal(answers.answer(["stack", "select", "--stack", "a.b", "--non-interactive"]), "");
  assert.equal(answers.answer(["stack", "output", "--json", "--stack", "a.b"]), undefined, "no operation yet");

  assert.equal(answers.answer(["up", "--yes", "--skip-preview", "--refresh", "--stack", "a.b"]), undefined, "operations always run");
  answers.observe(outputsEvent({ namespace: "mesh-six", token: "[secret]" }));
  answers.observe(summaryEvent({ same: 18, update: 1 }));
  assert.deepEqual(JSON.parse(answers.answer(["stack", "output", "--json", "--show-secrets", "--stack", "a.b"])!), {
    namespace: "mesh-six",
    token: "[secret]",
  });
  assert.equal(answers.answer(["stack", "output", "--json", "--stack", "other"]), undefined, "another stack's outputs are not these");
  const [summary] = JSON.parse(
    answers.answer(["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "a.b"])!,
  );
  assert.deepEqual([summary.kind, summary.result, summary.resourceChanges], ["update", "succeeded", { same: 18, update: 1 }]);
  assert.equal(answers.answer(["stack", "history", "--json", "--stack", "a.b"]), undefined, "the whole history is the CLI's");

  answers.answer(["refresh", "--yes", "--stack", "a.b"]);
  assert.equal(
    answers.answer(["stack", "output", "--json", "--stack", "a.b"]),
    undefined,
    "a new operation forgets the last one's outputs",
  );
  assert.equal(answers.answer(["config", "--show-secrets", "--json", "--stack", "a.b"]), undefined);
});

// A stand-in CLI of the commands the workspace runs, logging each launch (node, so that it can write YAML).
const FAKE_CLI = `#!/usr/bin/env node
const fs = require("node:fs"), path = require("node:path");
const args = process.argv.slice(2).filter((a) => a !== "--non-interactive");
fs.appendFileSync(process.env.FAKE_LOG, args.slice(0, 2).join(" ") + "\\n");
const at = args.indexOf("--stack");
const stack = at >= 0 ? args[at + 1] : args[2];
const file = path.join(process.cwd(), "Pulumi." + stack + ".yaml");
if (args[0] === "version") { console.log("v3.248.0"); process.exit(0); }
if (args[0] === "stack" && args[1] === "init") { fs.writeFileSync(file, "encryptionsalt: v1:abc\\n"); fs.writeFileSync(process.env.FAKE_CHECKPOINT.replace("STACK", stack), "{}"); process.exit(0); }
if (args[0] === "stack" && args[1] === "select") { console.error("error: no stack named '" + stack + "' found"); process.exit(255); }
if (args[0] === "config" && args[1] === "set-all") {
  let text = fs.readFileSync(file, "utf8");
  if (!/^config:/m.test(text)) text += "config:\\n";
  for (let i = 0; i < args.length; i++) if (args[i] === "--plaintext") {
    const [k, ...v] = args[i + 1].split("=");
    text = text.split("\\n").filter((l) => !l.startsWith("  " + k + ":")).join("\\n").replace(/^config:\\n/m, "config:\\n  " + k + ": " + JSON.stringify(v.join("=")) + "\\n");
  }
  fs.writeFileSync(file, text); process.exit(0);
}
console.error("fake pulumi: unexpected " + args.join(" ")); process.exit(2);
`;

const dir = mkdtempSync(path.join(tmpdir(), "mesh-six-known-answers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeSettings(): { settings: WorkspaceSettings; launches: () => string[]; saved: Map<string, string> } {
  const tools = path.join(dir, "tools");
  mkdirSync(path.join(tools, "bin"), { recursive: true });
  writeFileSync(path.join(tools, "bin", "pulumi"), FAKE_CLI);
  chmodSync(path.join(tools, "bin", "pulumi"), 0o755);
  const state = path.join(dir, "state");
  mkdirSync(path.join(state, ".pulumi", "stacks", "mesh-six"), { recursive: true });
  const workDir = path.join(dir, "work");
  mkdirSync(workDir, { recursive: true });
  const log = path.join(dir, "launches.log");
  writeFileSync(log, "");
  const saved = new Map<string, string>();
  const stackSettings: StackSettingsStore = {
    load: (name) => Promise.resolve(saved.get(name)),
    save: (name, text) => Promise.resolve(void saved.set(name, text)),
    remove: (name) => Promise.resolve(void saved.delete(name)),
  };
  process.env.FAKE_LOG = log;
  process.env.FAKE_CHECKPOINT = path.join(state, ".pulumi", "stacks", "mesh-six", "STACK.json");
  const settings: WorkspaceSettings = {
    backendUrl: `file://${state}`,
    backend: { kind: "file", url: `file://${state}`, source: "PULUMI_BACKEND_URL", envVars: {} } as unknown as WorkspaceSettings["backend"],
    secrets: { source: "PULUMI_CONFIG_PASSPHRASE", envVars: {} } as unknown as WorkspaceSettings["secrets"],
    envVars: {},
    pulumiRoot: tools,
    workDir,
    stackSettings,
  };
  return { settings, launches: () => readFileSync(log, "utf8").split("\n").filter(Boolean), saved };
}

test("a new stack costs one stack init and one config write; the same request again costs no launch; a changed one, one write", async () => {
  const { settings, launches, saved } = fakeSettings();
  const request = { owner: "acme", repo: "widgets", serverUrl: "https://mesh.example", displayName: "Widgets", labels: ["agent"] };
  const version = launches().length;
  await checkPulumiCli(settings.pulumiRoot);
  const start = launches().length;
  assert.ok(start - version <= 1, "one `pulumi version` per process at most");

  await selectRepoStack(request, settings);
  assert.deepEqual(launches().slice(start), ["stack init", "config set-all"]);
  const config = (parse(saved.get("acme.widgets")!) as { config: Record<string, string> }).config;
  assert.equal(config["mesh-six:owner"], "acme");
  assert.equal(config["mesh-six:labels"], '["agent"]');

  await selectRepoStack(request, settings);
  assert.deepEqual(launches().slice(start), ["stack init", "config set-all"], "the stack is known, its config already written");

  // A key the request no longer gives leaves the file without a command; a changed value is one write.
  const { labels: _dropped, ...rest } = request;
  await selectRepoStack({ ...rest, displayName: "Widgets 2" }, settings);
  assert.deepEqual(launches().slice(start), ["stack init", "config set-all", "config set-all"]);
  const after = (parse(saved.get("acme.widgets")!) as { config: Record<string, string> }).config;
  assert.equal(after["mesh-six:labels"], undefined, "the stale key is gone");
  assert.equal(after["mesh-six:displayName"], "Widgets 2");
  assert.equal(after["mesh-six:owner"], "acme");
});

test("a CLI older than the SDK's pin is refused at start-up, naming both versions", async () => {
  const tools = path.join(dir, "old");
  mkdirSync(path.join(tools, "bin"), { recursive: true });
  writeFileSync(path.join(tools, "bin", "pulumi"), "#!/bin/sh\necho v3.100.0\n");
  chmodSync(path.join(tools, "bin", "pulumi"), 0o755);
  await assert.rejects(checkPulumiCli(tools), /is 3\.100\.0; this project needs 3\.x at 3\.248\.0 or newer/);
});
