import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import dockerignore from "@balena/dockerignore";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import YAML from "yaml";
import { moduleGraph } from "../../scripts/lib/module-graph";
import { ONBOARDING_SERVER } from "../../domain/catalog";
import { SERVER_NODE_FLAGS } from "../../testkit/server-process";

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
      const content = instruction.getArgumentsContent()!;
      const eq = content.indexOf("=");
      args[content.slice(0, eq)] = content.slice(eq + 1);
    }
  }
  return args;
}

/** Expands ${ARG} references with the global ARG defaults, repeatedly (a default may name another ARG). */
function expand(s: string): string {
  for (let i = 0; i < 5 && s.includes("${"); i++)
    s = s.replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs()[name] ?? `<unset ${name}>`);
  return s;
}

/** A FROM line's image with the ARG defaults, as name and tag. */
function defaultImage(from: Instruction): { name: string; tag: string } {
  const image = expand(from.getArgumentsContent()!.split(/\s+/)[0]);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? { name: image.slice(0, colon), tag: image.slice(colon + 1) } : { name: image, tag: "" };
}

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
    const { name: image, tag } = defaultImage(from);
    assert.doesNotMatch(image + tag, /<unset/, `FROM ${from.getArgumentsContent()} names an undeclared ARG`);
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
  assert.deepEqual(JSON.parse(cmd.getArgumentsContent()!), ["node", ...SERVER_NODE_FLAGS, "--import", "tsx", "server/main.ts"]);
  assert.ok(pkg.dependencies.tsx, "tsx in dependencies (npm ci --omit=dev leaves devDependencies out)");
});

test("the image builds the program and the policy pack from its own sources, and both run from that build", () => {
  const stage = finalStage();
  const copyAll = stage.findIndex((i) => i.getKeyword() === "COPY" && i.getArgumentsContent() === ". .");
  const build = stage.findIndex((i) => i.getKeyword() === "RUN" && i.getArgumentsContent() === "node --import tsx cli/build.ts");
  const user = stage.findIndex((i) => i.getKeyword() === "USER");
  assert.ok(copyAll >= 0 && build > copyAll && build < user, "built after the sources are copied, as root, before USER");
  assert.ok(pkg.dependencies.esbuild, "esbuild in dependencies: the image builds with the production packages");
  const project = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    main: string;
    runtime: { options?: Record<string, unknown> };
  };
  assert.equal(project.main, "dist/index.js");
  assert.doesNotMatch(String(project.runtime.options?.nodeargs ?? ""), /tsx/, "no TypeScript loader at run time");
  const pack = JSON.parse(readFileSync(path.join(ROOT, "policies/package.json"), "utf8")) as { main: string };
  assert.equal(path.join("policies", pack.main), path.join("dist", "policies", "index.js"));
  const exposed = finalStage().find((i) => i.getKeyword() === "EXPOSE")!;
  assert.equal(Number(exposed.getArgumentsContent()), ONBOARDING_SERVER.port);
});

// What the server (server/main.ts) and the programs it runs (index.ts, the policy pack) load at run time, and the build
// the image makes of those programs (cli/build.ts).
const RUNTIME_ENTRIES = ["server/main.ts", "index.ts", "policies/index.ts", "cli/build.ts"];

test("the build context holds every module the server and the stack programs load, and no local state", () => {
  const ignore = dockerignore({ ignorecase: false }).add(readFileSync(path.join(ROOT, ".dockerignore"), "utf8"));
  const { files } = moduleGraph(RUNTIME_ENTRIES);
  const needed = [
    ...files,
    "Pulumi.yaml",
    "Pulumi.platform-prod.yaml",
    "package-lock.json",
    "policies/package.json",
    "policies/PulumiPolicy.yaml",
  ];
  assert.ok(needed.length > 30, `the module graph was followed (${needed.length} files)`);
  for (const file of needed) assert.ok(!ignore.ignores(file), `${file} is needed at run time but .dockerignore leaves it out`);
  for (const local of [
    ".pulumi-state/.passphrase",
    ".sandbox/env",
    ".data/pglite/PG_VERSION",
    "node_modules/tsx/package.json",
    ".tools/bin/pulumi",
    "Pulumi.acme.widgets.yaml",
    ".git/config",
    "tests/unit/names.test.ts",
    "dist/index.js",
  ]) {
    assert.ok(ignore.ignores(local), `${local} must stay out of the image`);
  }
});

test("every npm package the server and the stack programs import is a production dependency", () => {
  const { packages } = moduleGraph(RUNTIME_ENTRIES);
  assert.ok(packages.has("@pulumi/pulumi") && packages.has("express"), "imports were collected");
  for (const name of packages) assert.ok(name in pkg.dependencies, `${name} is imported at run time but is not in dependencies`);
});

// scripts/image builds the Dockerfile here with base images it made locally; the defaults stay the public ones.
const imageScript = readFileSync(path.join(ROOT, "scripts/image"), "utf8");

test("every base image is a build arg whose default is the public image, and scripts/image passes exactly those", () => {
  const froms = dockerfile.getFROMs();
  const bases = froms.map((f) => /^\$\{(\w+)\}$/.exec(f.getArgumentsContent()!.split(/\s+/)[0])?.[1]);
  assert.deepEqual(bases, ["PULUMI_IMAGE", "NODE_IMAGE", "NODE_IMAGE"], "the pulumi stage, then packages and runtime on Node.js");
  assert.deepEqual(defaultImage(froms[0]), { name: "pulumi/pulumi-nodejs", tag: `${globalArgs().PULUMI_VERSION}-debian` });
  assert.deepEqual(defaultImage(froms[1]), { name: "node", tag: `${globalArgs().NODE_VERSION}-bookworm-slim` });
  const passed = [...imageScript.matchAll(/--build-arg "(\w+)=/g)].map((m) => m[1]).sort();
  assert.deepEqual(passed, ["NODE_IMAGE", "PULUMI_IMAGE"]);
  for (const name of passed) assert.ok(name in globalArgs(), `${name} is a global ARG of the Dockerfile`);
  assert.match(imageScript, /buildah bud --isolation chroot/);
});

test("the pulumi stage reads the CLI and the plugins from the fixed paths both bases provide", () => {
  const all = dockerfile.getInstructions();
  const line = (i: Instruction) => text.split("\n")[i.getRange().start.line];
  const copies = finalStage().filter((i) => i.getKeyword() === "COPY" && line(i).startsWith("COPY --from=pulumi "));
  assert.deepEqual(
    copies.map((c) => line(c).split(/\s+/)[2]),
    ["/pulumi/bin", "/pulumi/home/plugins"],
  );
  const pulumiStage = all.slice(0, all.indexOf(dockerfile.getFROMs()[1]));
  assert.ok(pulumiStage.some((i) => i.getKeyword() === "ENV" && /PULUMI_HOME=\/pulumi\/home\b/.test(i.getArgumentsContent()!)));
  // The CLI makes plugin directories 0700: without this the runtime's user cannot start the plugin (the smoke failed so).
  const run = pulumiStage.find((i) => i.getKeyword() === "RUN")!.getArgumentsContent()!;
  assert.match(
    run,
    /pulumi plugin install resource kubernetes "v\$\{KUBERNETES_PLUGIN_VERSION\}"[\s\S]*&& chmod -R a\+rX,go-w \/pulumi\/home\/plugins$/,
  );
  // The server links them into the pod's empty PULUMI_HOME (pulumi/workspace.ts), not onto PATH: the CLI would
  // warn on every run about an "ambient" plugin there.
  assert.equal(finalEnv().MESH_SIX_PULUMI_PLUGINS, "/pulumi/plugins");
  // The local pulumi base (scripts/image) puts the same things at the same paths.
  assert.match(imageScript, /cp -pL "\$dist"\/\* "\$mnt\/pulumi\/bin\/"/);
  assert.match(imageScript, /PULUMI_HOME=\$mnt\/pulumi\/home "\$mnt\/pulumi\/bin\/pulumi" plugin install resource kubernetes/);
});

/** The final stage's ENV, as one map. */
function finalEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of finalStage().filter((x) => x.getKeyword() === "ENV")) {
    for (const m of i.getArgumentsContent()!.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2];
  }
  return env;
}

test("with a read-only root, everything the server writes is under the writable dirs the image declares", () => {
  const label = finalStage().find((i) => i.getKeyword() === "LABEL" && i.getArgumentsContent()!.includes("dev.mesh-six.writable-dirs"));
  const writable = JSON.parse(/dev\.mesh-six\.writable-dirs=(".*")/.exec(label?.getArgumentsContent() ?? "")?.[1] ?? '""').split(
    " ",
  ) as string[];
  const env = finalEnv();
  assert.deepEqual(writable.sort(), [env.HOME, env.TMPDIR].sort());
  const under = (p: string) => writable.some((d) => p === d || p.startsWith(`${d}/`));
  assert.ok(under(env.PULUMI_HOME), `PULUMI_HOME=${env.PULUMI_HOME} is in a writable dir`);
  const workdir =
    finalStage()
      .find((i) => i.getKeyword() === "WORKDIR")
      ?.getArgumentsContent() ?? "/";
  assert.ok(!under(workdir), "the code stays on the read-only root");
  const entrypoint = JSON.parse(
    finalStage()
      .find((i) => i.getKeyword() === "ENTRYPOINT")!
      .getArgumentsContent()!,
  );
  assert.deepEqual(entrypoint, ["/usr/bin/tini", "--"]);
});
