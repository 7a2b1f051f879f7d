import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { deleteRegistration, recordDriftStatus, registryId, upsertRegistration } from "../../db/registry";
import { TEXT_FIELDS } from "../../domain/workflow";
import { createTask, getTask, registerAgent, startAgent, type TestAgent } from "../../testkit/agents";
import { type AuthorizationServer, type AuthService, startAuthorizationServer, startAuthService } from "../../testkit/oauth-server";
import { Gate, ScriptedRunner } from "../../testkit/scripted-runner";
import { getRunBody, onboard, readEventStream, startTestServer, TEST_TOKEN, type TestServer, waitFor } from "../../testkit/server";
import { startTcpProxy, type TcpProxy } from "../../testkit/tcp-proxy";
import { issueToken } from "../../testkit/tokens";
import { buildDashboard } from "../../ui/build";
import { WebhookSecretCache } from "../../server/webhooks/secret-cache";
import { deliver, repoPayload } from "../../testkit/webhooks";
import { sampleRegistration } from "../../testkit/registration";

/**
 * The dashboard (/ui) as an operator uses it, in real headless Chromium (Debian's, driven by playwright-core)
 * against the in-process server and its scripted runner: log in with the keyboard, onboard from the form (a field
 * the API refuses, then fixed), watch the run live through a dropped connection, preview a change as a diff,
 * cancel a run, read a waiting run's device code, see an agent's attempt, offboard behind the typed confirmation,
 * and read it all on a 375 px screen. The browser reaches the server through a TCP proxy the test can cut.
 */

const CHROMIUM = process.env.MESH_SIX_CHROMIUM ?? "/usr/bin/chromium";
const OUT = path.resolve(__dirname, "../../.test-output/dashboard");
const T0 = Date.now();
let stepNo = 0;
function step(text: string): void {
  stepNo += 1;
  console.log(`  step ${String(stepNo).padStart(2)} [${((Date.now() - T0) / 1000).toFixed(1)} s] ${text}`);
}

const screenshots: string[] = [];
async function shoot(page: Page, name: string): Promise<void> {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
}

const widgetsGate = new Gate();
const gadgetsGate = new Gate(); // never released: the run is cancelled while it waits
const runner = new ScriptedRunner()
  .on((r) => r.stackName === "acme.widgets" && r.kind === "onboard", {
    events: [
      {
        type: "resource",
        phase: "pre",
        op: "create",
        urn: "urn:pulumi:acme.widgets::mesh-six::kubernetes:apps/v1:StatefulSet::env",
        resourceType: "kubernetes:apps/v1:StatefulSet",
      },
      {
        type: "resource",
        phase: "done",
        op: "create",
        urn: "urn:pulumi:acme.widgets::mesh-six::kubernetes:apps/v1:StatefulSet::env",
        resourceType: "kubernetes:apps/v1:StatefulSet",
      },
      { type: "log", message: "webhook created" },
    ],
    gate: widgetsGate,
    changeSummary: { create: 7 },
    outputs: {
      webhookUrl: { value: "http://127.0.0.1:8080/webhooks/github/acme/widgets", secret: false },
      webhookSecret: { value: "s3cr3t-value", secret: true },
    },
  })
  .on((r) => r.kind === "preview", {
    events: [
      ...["kubernetes:core/v1:Service::env", "mesh-six:github:Webhook::hook", "mesh-six:github:ProjectBoard::board"].map((t) => ({
        type: "resource" as const,
        phase: "pre" as const,
        op: "same",
        urn: `urn:pulumi:acme.widgets::mesh-six::${t}`,
        resourceType: t.split("::")[0],
      })),
      {
        type: "resource",
        phase: "pre",
        op: "update",
        urn: "urn:pulumi:acme.widgets::mesh-six::kubernetes:apps/v1:StatefulSet::env",
        resourceType: "kubernetes:apps/v1:StatefulSet",
      },
      {
        type: "resource",
        phase: "pre",
        op: "create",
        urn: "urn:pulumi:acme.widgets::mesh-six::kubernetes:core/v1:ConfigMap::labels",
        resourceType: "kubernetes:core/v1:ConfigMap",
      },
    ],
    changeSummary: { same: 3, update: 1, create: 1 },
  })
  .on("acme.gadgets", { gate: gadgetsGate });

let srv: TestServer;
let proxy: TcpProxy;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let authServer: AuthorizationServer;
let authService: AuthService;
let agent: TestAgent;
const pageProblems: string[] = [];
const HOOK_SECRET = "dashboard-test-webhook-secret";
let previewRunId = "";

before(async () => {
  mkdirSync(OUT, { recursive: true });
  await buildDashboard();
  authServer = await startAuthorizationServer();
  authService = await startAuthService();
  agent = await startAgent("accept");
  srv = await startTestServer({
    runner,
    config: { deviceFlow: authServer.config, authServiceUrl: authService.url, deviceFlowSecondMs: 10 },
    // Every repo's webhook secret, read from here instead of Vault: the deliveries page needs a signed delivery, not Vault.
    webhookSecrets: new WebhookSecretCache({ read: async () => ({ secret: HOOK_SECRET }) }),
  });
  proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(srv.url).port) });
  base = `http://${proxy.address}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  // Nothing the page runs may throw, and the CSP must never have to block anything of its own.
  page.on("pageerror", (err) => pageProblems.push(`page error: ${err.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) pageProblems.push(`console: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await srv?.close();
  await agent?.close();
  await authService?.close();
  await authServer?.close();
  console.log(`  screenshots:\n${screenshots.map((s) => `    ${path.relative(process.cwd(), s)}`).join("\n")}`);
});

const focusedLabel = () =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    const id = el.getAttribute("id");
    const label = id ? document.querySelector(`label[for="${id}"]`)?.textContent : null;
    return label ?? el.textContent?.trim() ?? el.tagName;
  });

const focusVisible = () =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    return el.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  });

const runIdInUrl = async () => {
  await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
  return decodeURIComponent(page.url().split("#/runs/")[1]);
};

test("the /ui route serves the built files with a content security policy, and no token is needed for them", async () => {
  const res = await fetch(`${srv.url}/ui/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  assert.match(await res.text(), /<script type="module" src="app.js">/);
  assert.match((await fetch(`${srv.url}/ui/app.js`)).headers.get("content-type") ?? "", /^text\/javascript/);
  const missing = await fetch(`${srv.url}/ui/nothing-here.js`);
  assert.equal(missing.status, 404, "a missing file is a 404, not a request for a token");
  assert.equal(((await missing.json()) as { error: string }).error, "not_found");
  assert.equal((await fetch(`${srv.url}/v1/repos`)).status, 401, "the API still wants its token");
});

test("log in with the keyboard alone: a refused token is said next to the field, a good one opens the repositories", async () => {
  step("open /ui: the login form, focus on the token field");
  await page.goto(`${base}/ui/`);
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  assert.equal(await focusedLabel(), "API token");
  await page.keyboard.type("not-a-token-0123456789");
  await page.keyboard.press("Enter");
  await page.getByText("The server did not accept this token").waitFor();
  assert.equal(await page.getByLabel("API token").getAttribute("aria-invalid"), "true");
  step("a wrong token: refused, the message next to the field");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(TEST_TOKEN);
  await page.keyboard.press("Tab");
  assert.equal(await focusedLabel(), "Log in");
  assert.ok(await focusVisible(), "the focused button shows its focus");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Repositories" }).waitFor();
  assert.equal(await focusedLabel(), "Repositories", "focus lands on the page's heading");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("mesh-six.api-token")), TEST_TOKEN);
  assert.ok(!page.url().includes(TEST_TOKEN), "the token is not in the URL");
  step("logged in with the keyboard: token in sessionStorage, not in the URL");
});

test("onboard from the form with the keyboard: the API's refusal shows next to its field, the fix goes through, the run is watched live to the end", async () => {
  await page.keyboard.press("Tab");
  assert.equal(await focusedLabel(), "Onboard a repository");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Onboard a repository" }).waitFor();
  step("Tab, Enter: the onboarding form");

  // Tab through the whole form once, typing where a person would; the focus must follow the labels' order.
  const typed: Record<string, string> = {
    "Owner (required)": "acme",
    "Repository (required)": "widgets",
    "Display name": "Widgets",
    "Issue labels": "mesh-six, triage",
    "CPU limit": "lots",
  };
  const labelsInOrder = await page.locator("form.stack label").allTextContents();
  const visited: string[] = [];
  for (let i = 0; i < labelsInOrder.length; i++) {
    await page.keyboard.press("Tab");
    const label = await focusedLabel();
    visited.push(label);
    assert.ok(await focusVisible(), `${label}: focus is visible`);
    if (typed[label]) await page.keyboard.type(typed[label]);
    if (label === "Skip the device-flow step") await page.keyboard.press("Space");
  }
  assert.deepEqual(visited, labelsInOrder, "the tab order is the order of the fields");
  await page.keyboard.press("Tab");
  assert.equal(await focusedLabel(), "Onboard");
  step(`tabbed through ${visited.length} fields in order, focus visible on each; typed owner, repo, labels and a CPU limit of "lots"`);
  await page.keyboard.press("Enter");

  const summary = page.locator(".error-summary");
  await summary.waitFor();
  assert.ok(await summary.evaluate((el) => el === document.activeElement), "the summary takes focus");
  const cpu = page.getByLabel("CPU limit", { exact: true });
  assert.equal(await cpu.getAttribute("aria-invalid"), "true");
  const error = page.locator(".field", { has: cpu }).locator(".field-error");
  assert.match(await error.innerText(), /expected a Kubernetes quantity/);
  const describedBy = (await cpu.getAttribute("aria-describedby")) ?? "";
  assert.ok(describedBy.split(" ").includes((await error.getAttribute("id"))!), "the message describes the field");
  await shoot(page, "onboarding-form-validation");
  step(`the API's 400 shown next to its field: "${await error.innerText()}"`);

  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  assert.equal(await focusedLabel(), "CPU limit", "the summary's entry leads to the field");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("4");
  await page.keyboard.press("Enter");
  const runId = await runIdInUrl();
  step(`fixed to 4, Enter: run ${runId} accepted, the live view opens`);

  const run = await getRunBody(srv, runId);
  assert.equal(run.kind, "onboard");
  assert.deepEqual(run.request.labels, ["mesh-six", "triage"]);
  assert.equal((run.request.resources as { limits: { cpu: string } }).limits.cpu, "4");
  assert.equal((run as unknown as { options: { skipAuth?: boolean } }).options.skipAuth, true);

  await page.locator("#stream-state[data-state=live]").waitFor();
  await page.locator("ol.events li", { hasText: "webhook created" }).waitFor();
  await page.locator("dd .badge", { hasText: "running" }).waitFor();
  await shoot(page, "run-live");
  step("live: running, steps and events as they come");

  proxy.cut();
  await page.locator("#stream-state[data-state=reconnecting]").waitFor();
  proxy.restore();
  widgetsGate.release();
  step("the connection cut and restored, the run let go");
  await page.locator("dd .badge", { hasText: "succeeded" }).waitFor({ timeout: 15_000 });
  await page.locator("#stream-state[data-state=ended]").waitFor();
  const reconnects = Number(await page.locator("#stream-state").getAttribute("data-reconnects"));
  assert.ok(reconnects >= 1, "the stream was resumed");
  const shown = await page.locator("ol.events li").evaluateAll((lis) => lis.map((li) => Number(li.getAttribute("data-seq"))));
  const all = await readEventStream(await srv.request(`/v1/runs/${runId}/events`));
  assert.deepEqual(
    shown,
    all.map((e) => Number(e.id)),
    "every event once, in order, across the reconnect",
  );
  assert.match(await page.locator("section[aria-labelledby=result-h]").innerText(), /webhookSecret\s+\[secret\]/);
  await shoot(page, "run-succeeded");
  step(`succeeded; resumed ${reconnects}× with Last-Event-ID, all ${shown.length} events shown once`);
});

test("the repositories list shows state, drift and links; a preview of a change reads as a diff", async () => {
  // What the repo stack's RepoRegistration writes when it comes up (the scripted runner runs no stack).
  await upsertRegistration(
    srv.db.pool,
    sampleRegistration(
      { owner: "acme", repo: "widgets" },
      {
        displayName: "Widgets",
        projectNumber: 7,
        statusFieldId: "F1",
        statusOptions: {},
        priorityFieldId: "F2",
        priorityOptions: {},
        textFieldIds: { [TEXT_FIELDS.podName]: "F3" },
        webhookId: 42,
        envStatefulSet: "acme-widgets-env",
        envNamespace: "mesh-six-repos",
        labels: ["mesh-six", "triage"],
      },
    ),
  );
  await recordDriftStatus(srv.db.pool, "acme.widgets", "in-sync", new Date()); // what a drift check records
  await page.goto(`${base}/ui/#/repos`);
  const row = page.locator("tr", { hasText: "acme/widgets" });
  await row.waitFor();
  assert.match(await row.innerText(), /onboarded\s+in-sync/);
  assert.equal(await row.getByRole("link", { name: "board", exact: true }).getAttribute("href"), "https://github.com/orgs/acme/projects/7");
  assert.equal(
    await row.getByRole("link", { name: "webhook", exact: true }).getAttribute("href"),
    "https://github.com/acme/widgets/settings/hooks/42",
  );
  assert.match(await row.innerText(), /mesh-six-repos\/acme-widgets-env-0/);
  await shoot(page, "repos");
  step("repositories: acme/widgets onboarded, drift in-sync, board/webhook links, env pod");

  await row.getByRole("link", { name: "acme/widgets" }).click();
  await page.getByRole("heading", { name: "acme/widgets" }).waitFor();
  const preview = page.getByRole("form", { name: "Preview a change" });
  await preview.getByLabel("Display name").fill("Widgets v2");
  await preview.getByLabel("Memory limit").fill("8Gi");
  await preview.getByRole("button", { name: "Preview" }).click();
  const runId = await runIdInUrl();
  await page.locator("dd .badge", { hasText: "succeeded" }).waitFor();
  const settings = page.getByLabel("Settings diff");
  await settings.getByText('+ displayName: "Widgets v2"').waitFor();
  const settingsText = await settings.innerText();
  assert.match(settingsText, /^- displayName: "Widgets"$/m);
  assert.match(settingsText, /^\+ resources\.limits\.memory: "8Gi"$/m);
  assert.match(settingsText, /^ {2}labels: \["mesh-six","triage"\]$/m, "unchanged settings stay as context");
  const plan = await page.getByLabel("Resource plan").innerText();
  assert.match(plan, /^\+ create\s+kubernetes:core\/v1:ConfigMap labels$/m);
  assert.match(plan, /^~ update\s+kubernetes:apps\/v1:StatefulSet env$/m);
  assert.equal((plan.match(/^ {2}same/gm) ?? []).length, 3);
  await shoot(page, "preview-diff");
  previewRunId = runId;
  step(`preview ${runId}: settings diff (displayName, memory limit) and resource plan (+1 ~1, 3 same)`);
});

test("a run is cancelled from its page", async () => {
  const { runId } = await onboard(srv, { owner: "acme", repo: "gadgets", skipAuth: true });
  await gadgetsGate.reached();
  await page.goto(`${base}/ui/#/runs/${runId}`);
  await page.locator("dd .badge", { hasText: "running" }).waitFor();
  await page.getByRole("button", { name: "Cancel run" }).click();
  await page.locator("dd .badge", { hasText: "cancelled" }).waitFor();
  assert.equal((await getRunBody(srv, runId)).status, "cancelled");
  assert.equal(await page.getByRole("button", { name: "Cancel run" }).count(), 0, "a finished run offers no cancel");
  step(`cancelled run ${runId} with its Cancel button`);
});

test("a run waiting for the device flow shows its code and verification link, and goes on once approved", async () => {
  const { runId } = await onboard(srv, { owner: "acme", repo: "gizmos", authProjectId: "proj-1" });
  await page.goto(`${base}/ui/#/runs/${runId}`);
  const box = page.getByRole("region", { name: "Approve this device" });
  await box.waitFor({ timeout: 15_000 });
  const { auth } = (await getRunBody(srv, runId)) as unknown as {
    auth: { userCode: string; verificationUri: string; verificationUriComplete: string };
  };
  assert.equal(await box.locator(".user-code").innerText(), auth.userCode);
  assert.equal(await box.getByRole("link", { name: auth.verificationUri }).getAttribute("href"), auth.verificationUri);
  assert.equal(await box.getByRole("link", { name: /code filled in/ }).getAttribute("href"), auth.verificationUriComplete);
  await shoot(page, "run-device-code");
  step(`waiting run ${runId}: code ${auth.userCode} and ${auth.verificationUri} shown`);
  await authServer.approve(auth.verificationUriComplete);
  await page.locator("dd .badge", { hasText: "succeeded" }).waitFor({ timeout: 15_000 });
  assert.equal(await box.count(), 0, "the prompt goes once approved");
  step("approved at the authorization server: the live view shows it succeeded");
});

test("agents and tasks show their attempts", async () => {
  const agentId = await registerAgent(srv, "planner-1", agent.url, { planning: 1 });
  const taskId = await createTask(srv, { capability: "planning", owner: "acme", repo: "widgets", payload: { issue: 1 } });
  await waitFor(async () => (await getTask(srv, taskId)).attempts.length > 0, "the task's first attempt");
  // With GET /v1/tasks (the task history) the agents and tasks pages list the attempts; without it they say so.
  const listed = (await srv.request("/v1/tasks")).status === 200;
  await page.goto(`${base}/ui/#/agents`);
  const card = page.getByRole("region", { name: "Agent planner-1" });
  await card.getByRole("heading", { name: /planner-1 healthy/ }).waitFor();
  if (listed) assert.match(await card.getByRole("table").innerText(), new RegExp(`${taskId.slice(0, 8)}[\\s\\S]*(delivered|succeeded)`));
  else await page.getByText("This server has no GET /v1/tasks yet").waitFor();
  await page.goto(`${base}/ui/#/tasks`);
  if (listed)
    await page
      .locator("tr", { hasText: taskId.slice(0, 8) })
      .getByRole("link", { name: taskId.slice(0, 8) })
      .click();
  else {
    await page.getByRole("form", { name: "Find a task" }).getByLabel("Task id").fill(taskId);
    await page.keyboard.press("Enter");
  }
  await page.waitForURL(new RegExp(`#/tasks/${taskId}$`));
  const attempt = page.locator("tr", { hasText: "planner-1" });
  await attempt.waitFor();
  assert.match(await attempt.innerText(), /delivered|succeeded/);
  step(
    `agent ${agentId.slice(0, 8)} and task ${taskId.slice(0, 8)} with its attempt by planner-1 (${listed ? "listed by GET /v1/tasks" : "no GET /v1/tasks here: looked up by id"})`,
  );
});

test("webhook deliveries are listed with their event and outcome (or the page says GET /v1/deliveries is missing)", async () => {
  const hook = await deliver(srv, "/webhooks/github/acme/widgets", repoPayload("acme/widgets", { zen: "Keep it logically awesome." }), {
    event: "ping",
    secret: HOOK_SECRET,
  });
  assert.equal(hook.status, 202);
  const listed = (await srv.request("/v1/deliveries")).status === 200;
  await page.goto(`${base}/ui/#/deliveries`);
  if (listed) {
    const row = page.locator("tr", { hasText: hook.deliveryId });
    await row.waitFor();
    assert.match(await row.innerText(), /acme\/widgets[\s\S]*ping[\s\S]*(received|processed|ignored)/);
  } else await page.getByText("This server has no GET /v1/deliveries yet").waitFor();
  step(
    `webhook delivery ${hook.deliveryId.slice(0, 8)}: ${listed ? "listed with its event and outcome" : "no GET /v1/deliveries here: the page says so"}`,
  );
});

test("offboarding waits for the repo's name typed out, then runs the destroy", async () => {
  await page.goto(`${base}/ui/#/repos/acme/widgets`);
  const button = page.getByRole("button", { name: "Offboard acme/widgets" });
  const confirm = page.getByLabel("Type acme/widgets to confirm");
  assert.ok(await button.isDisabled());
  await confirm.fill("acme/widget");
  assert.ok(await button.isDisabled(), "a near miss does not enable it");
  await confirm.fill("acme/widgets");
  assert.ok(await button.isEnabled());
  await button.click();
  const runId = await runIdInUrl();
  await page.locator("dd .badge", { hasText: "succeeded" }).waitFor();
  assert.equal((await getRunBody(srv, runId)).kind, "destroy");
  await deleteRegistration(srv.db.pool, registryId({ owner: "acme", repo: "widgets" })); // as the stack's destroy does
  await page.goto(`${base}/ui/#/repos/acme/widgets`);
  await page.locator("dl.facts dd .badge", { hasText: "offboarded" }).waitFor();
  step(`offboarded after typing acme/widgets: destroy run ${runId}, the repo's page says offboarded`);
});

test("a viewer's token reads the pages, and an action it may not take shows the API's answer; logging out forgets the token", async () => {
  const viewer = await issueToken(srv, { name: "dashboard viewer", role: "viewer" });
  const tab = await context.newPage();
  try {
    await tab.goto(`${base}/ui/#/onboard`);
    await tab.getByLabel("API token").fill(viewer.token);
    await tab.getByRole("button", { name: "Log in" }).click();
    await tab.getByRole("heading", { name: "Onboard a repository" }).waitFor();
    await tab.getByLabel("Owner (required)").fill("acme");
    await tab.getByLabel("Repository (required)").fill("sprockets");
    await tab.getByRole("button", { name: "Onboard" }).click();
    await tab.locator(".error-summary").getByText("it needs the operator role").waitFor();
    await tab.getByRole("button", { name: "Log out" }).click();
    await tab.getByRole("heading", { name: "Log in" }).waitFor();
    assert.equal(await tab.evaluate(() => sessionStorage.getItem("mesh-six.api-token")), null);
  } finally {
    await tab.close();
  }
  step('a viewer token: the onboarding refused with "needs the operator role"; logged out, the token is gone from the tab');
});

test("the runs page lists the history, filtered by kind (or each repo's last run, on a server without GET /v1/runs)", async () => {
  const listed = (await srv.request("/v1/runs")).status === 200;
  await page.goto(`${base}/ui/#/runs`);
  const rows = page.locator("main tbody tr");
  if (listed) {
    await rows.filter({ hasText: "preview" }).first().waitFor();
    assert.equal(await rows.count(), 5, "three onboardings (one cancelled), the preview, the offboarding");
    await page.getByLabel("Kind").selectOption("preview");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForFunction(() => [...document.querySelectorAll("main tbody tr")].every((tr) => tr.textContent?.startsWith("preview")));
    assert.equal(await rows.count(), 1, "the one preview");
  } else {
    await page.getByText("This server has no GET /v1/runs yet").waitFor();
    assert.equal(await rows.count(), 3, "the last run of each of the three repos");
  }
  await shoot(page, "runs");
  step(
    `runs page: ${listed ? "the history from GET /v1/runs, filtered to the one preview" : "no GET /v1/runs here: each repo's last run"}`,
  );
});

test("the audit trail lists what was done, and every page reads on a 375 px screen without sideways scrolling", async () => {
  await page.goto(`${base}/ui/#/audit`);
  await page.locator("tr", { hasText: "DELETE /v1/repos/:owner/:repo" }).waitFor();
  assert.ok((await page.locator("tr", { hasText: "POST /v1/onboardings" }).count()) >= 2, "the refused and the accepted onboarding");
  step("audit trail: the onboardings (400 and 202), preview, cancel, offboard");

  await page.setViewportSize({ width: 375, height: 800 });
  const pages = [
    "#/repos",
    "#/onboard",
    "#/runs",
    "#/audit",
    "#/agents",
    "#/tasks",
    "#/deliveries",
    "#/repos/acme/widgets",
    `#/runs/${previewRunId}`,
  ];
  for (const hash of pages) {
    await page.goto(`${base}/ui/${hash}`);
    await page.locator("main h1").waitFor();
    await page.waitForFunction(() => !document.querySelector("main [role=status]")?.textContent?.includes("Loading"));
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `${hash}: ${scroll}px wide on a ${width}px screen`);
  }
  await page.goto(`${base}/ui/#/repos`);
  await page.locator("main h1").waitFor();
  await shoot(page, "narrow-repos");
  await page.goto(`${base}/ui/#/onboard`);
  await page.locator("main h1").waitFor();
  await shoot(page, "narrow-onboarding-form");
  step(`375 px: ${pages.length} pages without horizontal scroll`);
  assert.deepEqual(pageProblems, [], "no script error and no CSP violation on any page");
});
