import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { SESSION_MOUNT } from "../../components/repo-environment";
import { MESH_SIX_TOOLS_FEATURE } from "../../components/devcontainer-scaffold";
import { ONBOARDING_SERVER, builtServices, testedServices } from "../../stacks/catalog";

// The CI workflows parse, have the structure GitHub requires, and their service matrices are exactly the catalog's
// lists (the old system's build and test lists drifted away from the services it deployed).

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github/workflows");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  name?: string;
}
interface Job {
  "runs-on": string;
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

function workflow(file: string): Workflow {
  return YAML.parse(readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
}

const FILES = ["build-deploy.yaml", "preview.yaml", "publish-devcontainer-feature.yaml", "test.yaml"];

/** actionlint (built by scripts/bootstrap) over the workflows of `dir`; it runs shellcheck on every `run:` script. */
function actionlint(dir: string): { status: number | null; output: string } {
  const files = readdirSync(path.join(dir, ".github/workflows")).map((f) => path.join(".github/workflows", f));
  const result = spawnSync("actionlint", ["-no-color", "-oneline", ...files], { cwd: dir, encoding: "utf8" });
  if (result.error) throw new Error(`actionlint: ${result.error.message} (scripts/bootstrap builds it into .tools/bin)`);
  return { status: result.status, output: result.stdout + result.stderr };
}

test("actionlint, with shellcheck on every run: script, finds nothing in the workflows", () => {
  assert.equal(spawnSync("shellcheck", ["--version"]).status, 0, "shellcheck is installed (scripts/bootstrap)");
  const { status, output } = actionlint(ROOT);
  assert.equal(output, "");
  assert.equal(status, 0);
});

test("actionlint rejects a workflow with an unknown context, a bad runner label and a shell bug", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "actionlint-"));
  mkdirSync(path.join(dir, ".github/workflows"), { recursive: true });
  writeFileSync(
    path.join(dir, ".github/workflows/bad.yaml"),
    ["on: push", "jobs:", "  build:", "    runs-on: ubuntu-lates", "    steps:", "      - run: echo ${{ github.nope.sha }}", '      - run: cd $UNSET_DIR && ls', ""].join("\n"),
  );
  const { status, output } = actionlint(dir);
  assert.equal(status, 1);
  assert.match(output, /label "ubuntu-lates" is unknown/);
  assert.match(output, /property "nope" is not defined/);
  assert.match(output, /shellcheck reported issue/);
});

test("exactly the four workflows exist", () => {
  assert.deepEqual(readdirSync(WORKFLOWS).sort(), FILES);
});

for (const file of FILES) {
  test(`${file} has triggers and jobs whose steps each run or use something`, () => {
    const wf = workflow(file);
    assert.equal(typeof wf.name, "string");
    assert.ok(wf.on && Object.keys(wf.on).length > 0, "on");
    assert.ok(Object.keys(wf.jobs).length > 0, "jobs");
    for (const [id, job] of Object.entries(wf.jobs)) {
      assert.ok(job["runs-on"], `${id} runs-on`);
      assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${id} steps`);
      for (const step of job.steps) assert.ok((step.uses ? 1 : 0) + (step.run ? 1 : 0) === 1, `${id}: ${JSON.stringify(step)}`);
      for (const need of [job.needs ?? []].flat()) assert.ok(need in wf.jobs, `${id} needs ${need}`);
    }
  });
}

test("the build matrix is the catalog's builtServices()", () => {
  assert.deepEqual(workflow("build-deploy.yaml").jobs.build.strategy?.matrix?.service, builtServices());
});

test("the service test matrix is the catalog's testedServices()", () => {
  assert.deepEqual(workflow("test.yaml").jobs.services.strategy?.matrix?.service, testedServices());
});

test("the test workflow runs scripts/test", () => {
  assert.ok(workflow("test.yaml").jobs.infra.steps.some((s) => s.run?.trim() === "scripts/test"));
});

test("no built image is ever tagged latest", () => {
  const build = workflow("build-deploy.yaml").jobs.build.steps.find((s) => s.uses?.startsWith("docker/build-push-action"));
  assert.ok(build, "a build-push step");
  assert.doesNotMatch(String(build.with?.tags), /:latest\b/);
});

test("the preview runs, with the policy pack, every stack affected-stacks.ts picks, and updates one marked comment per stack", () => {
  const wf = workflow("preview.yaml");
  const listing = wf.jobs.stacks.steps.find((s) => s.run?.includes("scripts/ci/affected-stacks.ts"));
  assert.ok(listing?.run?.includes("pulumi stack ls --all --json"), "every stack of the backend is a candidate");
  assert.ok(listing?.run?.includes("git diff --name-only"), "against the files the pull request changes");
  const job = wf.jobs.preview;
  assert.equal(job.strategy?.matrix as unknown, "${{ fromJSON(needs.stacks.outputs.matrix) }}");
  assert.ok(job.steps.some((s) => s.run?.includes("pulumi preview") && s.run.includes("--policy-pack")));
  const comment = job.steps.find((s) => s.uses?.startsWith("actions/github-script"));
  const script = String(comment?.with?.script);
  assert.match(script, /<!-- mesh-six-preview:mesh-six:\$\{stack\}:preview -->/);
  assert.match(script, /updateComment/);
  assert.match(script, /createComment/);
});

test("build-deploy builds the server's image from the project's Dockerfile under the catalog's name, never latest", () => {
  const build = workflow("build-deploy.yaml").jobs["build-server"].steps.find((s) => s.uses?.startsWith("docker/build-push-action"));
  assert.equal(build?.with?.file, "Dockerfile");
  assert.equal(build?.with?.context, ".");
  assert.match(String(build?.with?.tags), new RegExp(`/${ONBOARDING_SERVER.image}:\\$\\{\\{ steps\\.tag\\.outputs\\.tag \\}\\}$`));
});

test("the deploy updates the chosen environment's platform stack with the policy pack, pinning new tags on dev only", () => {
  const wf = workflow("build-deploy.yaml") as Workflow & { on: { workflow_dispatch: { inputs: Record<string, { options?: string[] }> } } };
  assert.deepEqual(wf.on.workflow_dispatch.inputs.environment.options, ["dev", "prod"]);
  const deploy = wf.jobs.deploy;
  assert.deepEqual(deploy.needs, ["build", "build-server"]);
  const pin = deploy.steps.find((s) => s.name === "Pin the new tags (dev)") as Step & { if?: string };
  assert.equal(pin.if, "env.TARGET == 'dev'");
  assert.match(pin.run ?? "", /builtServices\(\)/);
  assert.match(pin.run ?? "", new RegExp(`mesh-six:images\\.${ONBOARDING_SERVER.name}`));
  assert.ok(deploy.steps.some((s) => s.run?.includes('pulumi up -s "platform-$TARGET"') && s.run.includes("--policy-pack")));
});

test("the devcontainer feature is published where the scaffold points, and installs into the session mount", () => {
  const feature = JSON.parse(readFileSync(path.join(ROOT, "devcontainer-features/mesh-six-tools/devcontainer-feature.json"), "utf8"));
  const major = feature.version.split(".")[0];
  const publish = workflow("publish-devcontainer-feature.yaml").jobs.publish.steps.find((s) => s.run?.includes("features publish"));
  const namespace = /--namespace (\S+)/.exec(publish?.run ?? "")?.[1];
  assert.equal(`ghcr.io/${namespace}/${feature.id}:${major}`, MESH_SIX_TOOLS_FEATURE);
  assert.match(readFileSync(path.join(ROOT, "devcontainer-features/mesh-six-tools/install.sh"), "utf8"), new RegExp(`SESSION_DIR=${SESSION_MOUNT}\\n`));
});
