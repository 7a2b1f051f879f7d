import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { SESSION_MOUNT } from "../../components/repo-environment";
import { MESH_SIX_TOOLS_FEATURE } from "../../components/devcontainer-scaffold";
import { ONBOARDING_SERVER, builtServices, testedServices } from "../../domain/catalog";

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
  "runs-on": string | string[];
  if?: string;
  name?: string;
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
    [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-lates",
      "    steps:",
      "      - run: echo ${{ github.nope.sha }}",
      "      - run: cd $UNSET_DIR && ls",
      "",
    ].join("\n"),
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

const script = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const PREVIEW_COMMENT = `${"$"}{process.env.GITHUB_WORKSPACE}/scripts/ci/preview-comment.cjs`;

for (const [listJob, previewJob] of [
  ["stacks", "preview"],
  ["stacks-self-hosted", "preview-self-hosted"],
]) {
  test(`${previewJob} previews, with the policy pack, every stack affected-stacks.ts picks, and updates one marked comment per stack`, () => {
    const wf = workflow("preview.yaml");
    assert.ok(
      wf.jobs[listJob].steps.some((s) => s.run?.includes('scripts/ci/list-affected-stacks "${{ github.event.pull_request.base.sha }}"')),
    );
    const job = wf.jobs[previewJob];
    assert.deepEqual(job.needs, listJob);
    assert.equal(job.strategy?.matrix as unknown, `${"$"}{{ fromJSON(needs.${listJob}.outputs.matrix) }}`);
    assert.ok(job.steps.some((s) => s.run?.includes('scripts/ci/preview-stack "${{ matrix.stack }}"')));
    const comment = job.steps.find((s) => s.uses?.startsWith("actions/github-script"));
    assert.match(String(comment?.with?.script), new RegExp(`require\\(\`${PREVIEW_COMMENT.replace(/[$.{}]/g, "\\$&")}\`\\)`));
    assert.match(String(comment?.with?.script), /upsertPreviewComment\(\{ github, context, stack: process\.env\.STACK/);
  });
}

test("the preview scripts list every stack against the changed files and preview with the policy pack", () => {
  const listing = script("scripts/ci/list-affected-stacks");
  assert.match(listing, /pulumi stack ls --all --json/, "every stack of the backend is a candidate");
  assert.match(listing, /git diff --name-only "\$base"\.\.\.HEAD/, "against the files the pull request changes");
  assert.match(listing, /scripts\/ci\/affected-stacks\.ts/);
  assert.match(script("scripts/ci/preview-stack"), /pulumi preview -s "\$stack" --policy-pack "\$PWD\/policies"/);
});

test("a stack's preview comment is created once, then updated in place; other stacks' comments are left alone", async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { marker, upsertPreviewComment } = require("../../scripts/ci/preview-comment.cjs");
  assert.equal(marker("acme.widgets"), "<!-- mesh-six-preview:mesh-six:acme.widgets:preview -->");
  const comments: { id: number; body: string }[] = [
    { id: 1, body: `${marker("platform-dev")}\nold` },
    { id: 2, body: "a human's comment" },
  ];
  const calls: string[] = [];
  const github = {
    paginate: async (_: unknown, args: { issue_number: number }) => (assert.equal(args.issue_number, 7), comments.map((c) => ({ ...c }))),
    rest: {
      issues: {
        listComments: () => undefined,
        createComment: async ({ body }: { body: string }) => (calls.push("create"), comments.push({ id: comments.length + 1, body })),
        updateComment: async ({ comment_id, body }: { comment_id: number; body: string }) => {
          calls.push(`update ${comment_id}`);
          comments.find((c) => c.id === comment_id)!.body = body;
        },
      },
    },
  };
  const context = { serverUrl: "https://github.com", repo: { owner: "o", repo: "r" }, runId: 9, payload: { pull_request: { number: 7 } } };
  const run = (exitCode: string, output: string) => upsertPreviewComment({ github, context, stack: "acme.widgets", exitCode, output });
  assert.equal(await run("1", "    + 3 to create\n  [mandatory]  image-pinned"), "created");
  assert.equal(await run("0", "    + 3 to create"), "updated");
  assert.deepEqual(calls, ["create", "update 3"]);
  const mine = comments.filter((c) => c.body.startsWith(marker("acme.widgets")));
  assert.equal(mine.length, 1, "one comment per stack");
  assert.match(mine[0].body, /✅ `pulumi preview` of `acme.widgets`/);
  assert.match(mine[0].body, /\[Run\]\(https:\/\/github\.com\/o\/r\/actions\/runs\/9\)/);
  assert.equal(comments[0].body, `${marker("platform-dev")}\nold`);
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
  for (const id of ["deploy", "deploy-self-hosted"]) {
    const deploy = wf.jobs[id] as Job & { env: Record<string, string> };
    assert.deepEqual(deploy.needs, ["build", "build-server"]);
    assert.equal(deploy.env.SERVICE_TAG, "${{ needs.build.outputs.tag }}");
    assert.equal(deploy.env.SERVER_TAG, "${{ needs.build-server.outputs.tag }}");
    assert.ok(
      deploy.steps.some((s) => s.run?.trim().endsWith("scripts/ci/deploy-platform")),
      `${id} runs scripts/ci/deploy-platform`,
    );
  }
  const deploy = script("scripts/ci/deploy-platform");
  const pin = /if \[ "\$TARGET" = dev \]; then\n([\s\S]*?)\nfi\n/.exec(deploy)?.[1] ?? "";
  assert.match(pin, /builtServices\(\)/);
  assert.match(pin, new RegExp(`mesh-six:images\\.${ONBOARDING_SERVER.name}" "\\$SERVER_TAG"`));
  assert.match(
    deploy.slice(deploy.indexOf(pin) + pin.length),
    /pulumi up -s "platform-\$TARGET" --yes --non-interactive --policy-pack "\$PWD\/policies"/,
  );
});

// GitHub-hosted runners take the ecosystem's Pulumi (pulumi/actions, plugins downloaded); only the cluster's own
// runners build the toolchain from source. test.yaml's infra job is the one exception: it runs scripts/test, the
// project's own suite, which tests the toolchain scripts/bootstrap builds.
const HOSTED_EXCEPTIONS = new Set(["test.yaml:infra"]);
const hosted = (job: Job) => [job["runs-on"]].flat().some((label) => /^ubuntu-/.test(label));
const buildsFromSource = (step: Step) =>
  /scripts\/bootstrap|\bgo (build|install|get)\b|pulumi\/pulumi\/pkg|build-language-host/.test(step.run ?? "") ||
  /^actions\/setup-go@/.test(step.uses ?? "");

test("no GitHub-hosted job runs scripts/bootstrap or builds Pulumi from source; those running pulumi install the pinned CLI", () => {
  let checked = 0;
  for (const file of FILES) {
    for (const [id, job] of Object.entries(workflow(file).jobs)) {
      if (!hosted(job) || HOSTED_EXCEPTIONS.has(`${file}:${id}`)) continue;
      checked++;
      for (const step of job.steps)
        assert.ok(!buildsFromSource(step), `${file}: hosted job ${id} builds from source: ${JSON.stringify(step)}`);
      const runsPulumi = job.steps.some((s) =>
        /\bpulumi |scripts\/ci\/(preview-stack|list-affected-stacks|deploy-platform)/.test(s.run ?? ""),
      );
      if (!runsPulumi) continue;
      const setup = job.steps.findIndex((s) => s.uses === "pulumi/actions@v6");
      assert.ok(setup >= 0, `${file}: hosted job ${id} runs pulumi: it installs it with pulumi/actions`);
      assert.equal(
        job.steps[setup].with?.["pulumi-version"],
        readFileSync(path.join(ROOT, "scripts/lib/toolchain-versions.sh"), "utf8").match(/^PULUMI_VERSION=(.*)$/m)?.[1],
      );
    }
  }
  assert.ok(checked >= 6, `the hosted jobs were checked (${checked})`);
  assert.ok(
    buildsFromSource({ run: "scripts/bootstrap pulumi" }) && buildsFromSource({ uses: "actions/setup-go@v5" }),
    "the check sees a build",
  );
});

test("each Pulumi job has a self-hosted twin that builds the toolchain from source; a repository variable picks one", () => {
  // [file, hosted job, self-hosted job, picked by]: the list jobs and the deploys by the variable, the previews by the
  // list job they need.
  const pairs = [
    ["preview.yaml", "stacks", "stacks-self-hosted", "variable"],
    ["preview.yaml", "preview", "preview-self-hosted", "needs"],
    ["build-deploy.yaml", "deploy", "deploy-self-hosted", "variable"],
  ];
  for (const [file, hostedId, selfId, picked] of pairs) {
    const jobs = workflow(file).jobs;
    assert.ok(hosted(jobs[hostedId]), `${hostedId} runs on a GitHub-hosted runner`);
    assert.deepEqual(jobs[selfId]["runs-on"], ["self-hosted", "mesh-six"]);
    assert.ok(
      jobs[selfId].steps.some((s) => /^scripts\/bootstrap /.test(s.run ?? "")),
      `${selfId} builds the toolchain`,
    );
    if (picked === "variable") {
      assert.equal(jobs[hostedId].if, "vars.MESH_SIX_RUNNER != 'self-hosted'");
      assert.equal(jobs[selfId].if, "vars.MESH_SIX_RUNNER == 'self-hosted'");
    } else {
      assert.deepEqual([jobs[hostedId].needs, jobs[selfId].needs], ["stacks", "stacks-self-hosted"]);
    }
  }
  const plugin = workflow("preview.yaml").jobs.preview.steps.find((s) => s.run?.startsWith("pulumi plugin install resource kubernetes"));
  const version = readFileSync(path.join(ROOT, "scripts/lib/toolchain-versions.sh"), "utf8").match(
    /^KUBERNETES_PLUGIN_VERSION=(.*)$/m,
  )?.[1];
  assert.equal(plugin?.run, `pulumi plugin install resource kubernetes v${version}`);
});

test("the devcontainer feature is published where the scaffold points, and installs into the session mount", () => {
  const feature = JSON.parse(readFileSync(path.join(ROOT, "devcontainer-features/mesh-six-tools/devcontainer-feature.json"), "utf8"));
  const major = feature.version.split(".")[0];
  const publish = workflow("publish-devcontainer-feature.yaml").jobs.publish.steps.find((s) => s.run?.includes("features publish"));
  const namespace = /--namespace (\S+)/.exec(publish?.run ?? "")?.[1];
  assert.equal(`ghcr.io/${namespace}/${feature.id}:${major}`, MESH_SIX_TOOLS_FEATURE);
  assert.match(
    readFileSync(path.join(ROOT, "devcontainer-features/mesh-six-tools/install.sh"), "utf8"),
    new RegExp(`SESSION_DIR=${SESSION_MOUNT}\\n`),
  );
});
