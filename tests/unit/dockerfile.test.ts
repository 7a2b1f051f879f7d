import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import dockerignore from "@balena/dockerignore";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import YAML from "yaml";
import { moduleGraph } from "../../scripts/lib/module-graph";
import { ONBOARDING_SERVER } from "../../stacks/catalog";

// No Docker engine runs here, so the image is checked where it can go wrong without one: its stages and user, its
// pins against the project's, and its build context against the modules the server and the stack programs load.

const ROOT = path.resolve(__dirname, "../..");
const text = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
const dockerfile = DockerfileParser.parse(text);
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  engines: { node: string };
};

/** The ARG defaults declared before the first FROM (the only ones FROM lines can use). */
function globalArgs(): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === "FROM") break;
    if (instruction.getKeyword() === "ARG") {
      const [name, value] = instruction.getArgumentsContent()!.split("=");
      args[name] = value;
    }
  }
  return args;
}

const expand = (s: string): string => s.replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs()[name] ?? `<unset ${name}>`);

function shellVariable(file: string, name: string): string {
  return execFileSync("bash", ["-c", `source ${file} && printf %s "$${name}"`], { cwd: ROOT, encoding: "utf8" });
}

function finalStage(): Instruction[] {
  const all = dockerfile.getInstructions();
  const lastFrom = all.map((i) => i.getKeyword()).lastIndexOf("FROM");
  return all.slice(lastFrom);
}

test("the image is built in stages and its last stage runs as an unprivileged numeric user", () => {
  assert.ok(dockerfile.getFROMs().length >= 2, "a multi-stage build");
  const users = finalStage().filter((i) => i.getKeyword() === "USER");
  assert.equal(users.length, 1, "one USER in the final stage");
  const uid = users[0].getArgumentsContent()!.split(":")[0];
  // Kubernetes' runAsNonRoot can only verify a numeric user.
  assert.match(uid, /^\d+$/);
  assert.notEqual(Number(uid), 0);
  const last = finalStage().at(-1)!;
  assert.ok(finalStage().indexOf(users[0]) < finalStage().indexOf(last), "USER comes before the command");
});

test("every base image is pinned to a version, never latest or untagged", () => {
  for (const from of dockerfile.getFROMs()) {
    const image = expand(from.getImageName() ?? "");
    const tag = expand(from.getImageTag() ?? "");
    assert.ok(tag && tag !== "latest", `${image} must be pinned: FROM ${from.getArgumentsContent()}`);
    assert.match(tag, /^\d+\.\d+\.\d+/, `${image}:${tag} pins a full version`);
  }
});

test("the image's Pulumi CLI, kubernetes plugin and Node.js are the versions the project pins", () => {
  const args = globalArgs();
  assert.equal(args.PULUMI_VERSION, shellVariable("scripts/lib/toolchain-versions.sh", "PULUMI_VERSION"));
  assert.equal(args.PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"]);
  assert.equal(args.KUBERNETES_PLUGIN_VERSION, shellVariable("scripts/lib/toolchain-versions.sh", "KUBERNETES_PLUGIN_VERSION"));
  assert.equal(args.KUBERNETES_PLUGIN_VERSION, pkg.dependencies["@pulumi/kubernetes"]);
  const nodeMajor = args.NODE_VERSION.split(".")[0];
  assert.match(pkg.engines.node, new RegExp(`>=${nodeMajor}\\.`), "package.json's engines admit the image's Node.js");
  const ci = YAML.parse(readFileSync(path.join(ROOT, ".github/workflows/test.yaml"), "utf8"));
  const setupNode = ci.jobs.infra.steps.find((s: { uses?: string }) => s.uses?.startsWith("actions/setup-node"));
  assert.equal(setupNode.with["node-version"], nodeMajor, "CI tests on the image's Node.js major");
});

test("the image starts the server as the main job does, with tsx a production package", () => {
  const cmd = finalStage().find((i) => i.getKeyword() === "CMD")!;
  assert.deepEqual(JSON.parse(cmd.getArgumentsContent()!), ["node", "--import", "tsx", "server/main.ts"]);
  assert.ok(pkg.dependencies.tsx, "tsx in dependencies (npm ci --omit=dev leaves devDependencies out)");
  assert.match(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"), /nodeargs: "--import tsx"/);
  const exposed = finalStage().find((i) => i.getKeyword() === "EXPOSE")!;
  assert.equal(Number(exposed.getArgumentsContent()), ONBOARDING_SERVER.port);
});

// What the server (server/main.ts) and the programs it runs (index.ts, the policy pack) load at run time.
const RUNTIME_ENTRIES = ["server/main.ts", "index.ts", "policies/index.ts"];

test("the build context holds every module the server and the stack programs load, and no local state", () => {
  const ignore = dockerignore({ ignorecase: false }).add(readFileSync(path.join(ROOT, ".dockerignore"), "utf8"));
  const { files } = moduleGraph(RUNTIME_ENTRIES);
  const needed = [...files, "Pulumi.yaml", "Pulumi.platform-prod.yaml", "package-lock.json"];
  assert.ok(needed.length > 30, `the module graph was followed (${needed.length} files)`);
  for (const file of needed) assert.ok(!ignore.ignores(file), `${file} is needed at run time but .dockerignore leaves it out`);
  for (const local of [".pulumi-state/.passphrase", ".sandbox/env", ".data/pglite/PG_VERSION", "node_modules/tsx/package.json", ".tools/bin/pulumi", "Pulumi.acme.widgets.yaml", ".git/config", "tests/unit/names.test.ts"]) {
    assert.ok(ignore.ignores(local), `${local} must stay out of the image`);
  }
});

test("every npm package the server and the stack programs import is a production dependency", () => {
  const { packages } = moduleGraph(RUNTIME_ENTRIES);
  assert.ok(packages.has("@pulumi/pulumi") && packages.has("express"), "imports were collected");
  for (const name of packages) assert.ok(name in pkg.dependencies, `${name} is imported at run time but is not in dependencies`);
});
