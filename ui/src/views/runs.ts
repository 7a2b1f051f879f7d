import { api, query, repoPath, runPath } from "../api";
import { renderDiff, resourceDiff, settingsDiff } from "../diff";
import { h, replace, table, announce } from "../dom";
import { followRunEvents, type StreamState } from "../events";
import { badge, duration, repoHref, runHref, when } from "../format";
import { isTerminal, RUN_KINDS, RUN_STATUSES } from "../../../domain/runs";
import type { RepoView, RunEventMessage, RunView } from "../types";
import { actionButton, heading, isMissingRoute, missingRoute, type View } from "./common";
import { choiceFilter, historyList } from "./history";

export function runsTable(runs: RunView[]): HTMLElement {
  if (runs.length === 0) return h("p", {}, "No runs.");
  return table(
    "Runs",
    ["Run", "Repository", "Status", "Step", "Created", "Took"],
    runs.map((r) => [
      h("a", { href: runHref(r.id) }, `${r.kind} ${r.id.slice(0, 8)}`),
      h("a", { href: repoHref(r.owner, r.repo) }, `${r.owner}/${r.repo}`),
      badge(r.status),
      r.step ?? "—",
      when(r.createdAt),
      duration(r.startedAt, r.finishedAt),
    ]),
  );
}

const PREVIEW_BASE = (id: string) => `mesh-six.preview-base.${id}`;

/** Keeps, for this tab, what a preview was asked against, for servers that do not list a repo's runs. */
export function rememberPreviewBase(runId: string, applied: Record<string, unknown> | null): void {
  if (applied) sessionStorage.setItem(PREVIEW_BASE(runId), JSON.stringify(applied));
}

async function previewBase(run: RunView): Promise<Record<string, unknown> | null> {
  try {
    const page = await api.get<{ runs: RunView[] }>(`${repoPath(run.owner, run.repo)}/runs${query({ status: "succeeded", limit: 50 })}`);
    const applied = page.runs.find((r) => (r.kind === "onboard" || r.kind === "update") && r.createdAt < run.createdAt);
    return applied ? applied.request : null;
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
  }
  const kept = sessionStorage.getItem(PREVIEW_BASE(run.id));
  return kept ? (JSON.parse(kept) as Record<string, unknown>) : null;
}

export const runsView: View = async ({ main }) => {
  const runs = historyList<RunView>({
    what: "runs",
    path: "/v1/runs",
    key: "runs",
    limit: 25,
    filters: [choiceFilter("kind", "Kind", RUN_KINDS), choiceFilter("status", "Status", RUN_STATUSES)],
    render: runsTable,
  });
  replace(main, heading("Runs"), runs.filters, runs.list, runs.more);
  try {
    await runs.load();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    // A server without the run history: every repo's last run.
    const { repos } = await api.get<{ repos: RepoView[] }>("/v1/repos");
    const last = repos.flatMap((r) => (r.lastRun ? [r.lastRun] : [])).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    replace(runs.list, missingRoute("GET /v1/runs", "this lists each repository's last run"), runsTable(last));
  }
};

function stepsOf(events: RunEventMessage[], current: string | null): HTMLElement {
  const seen = new Map<string, "done" | "skipped">();
  for (const e of events) if (e.type === "step") seen.set(String(e.data.step), e.data.skipped ? "skipped" : "done");
  if (seen.size === 0) return h("p", { class: "muted" }, "No step yet.");
  return h(
    "ol",
    { class: "steps", "aria-label": "Steps" },
    [...seen.entries()].map(([step, how]) =>
      h(
        "li",
        { class: how === "skipped" ? "skipped" : step === current ? "current" : "", "aria-current": step === current ? "step" : null },
        step,
        how === "skipped" ? " (skipped)" : "",
      ),
    ),
  );
}

function describeEvent(e: RunEventMessage): string {
  const d = e.data;
  switch (e.type) {
    case "status":
      return `status → ${String(d.status)}${d.reason ? `: ${String(d.reason)}` : ""}`;
    case "step":
      return `step ${String(d.step)}${d.skipped ? ` skipped: ${String(d.skipped)}` : ""}`;
    case "resource":
      return `${String(d.op)} ${String(d.phase)} ${String(d.resourceType)} ${String(d.urn).split("::").pop()}`;
    case "summary":
      return `summary ${JSON.stringify(d.changes)}`;
    case "diagnostic":
    case "log":
    case "policy":
      return `${e.type}: ${String(d.message ?? JSON.stringify(d))}`;
    default:
      return `${e.type} ${JSON.stringify(d)}`;
  }
}

function authBox(run: RunView): HTMLElement | null {
  if (run.status !== "waiting-for-auth" || !run.auth) return null;
  const a = run.auth;
  return h(
    "section",
    { class: "auth-box", "aria-labelledby": "auth-h" },
    h("h2", { id: "auth-h" }, "Approve this device"),
    h(
      "p",
      {},
      "The run waits for someone to sign in. Go to ",
      h("a", { href: a.verificationUri, target: "_blank", rel: "noreferrer" }, a.verificationUri),
      " and enter this code:",
    ),
    h("p", { class: "user-code", "aria-label": `User code ${a.userCode.split("").join(" ")}` }, a.userCode),
    a.verificationUriComplete
      ? h(
          "p",
          {},
          h(
            "a",
            { href: a.verificationUriComplete, target: "_blank", rel: "noreferrer" },
            "Open the approval page with the code filled in",
          ),
        )
      : null,
    h("p", { class: "muted" }, `The code expires ${when(a.expiresAt)}.`),
  );
}

function resultOf(run: RunView): HTMLElement | null {
  const parts: HTMLElement[] = [];
  if (run.status === "failed")
    parts.push(h("p", { class: "field-error", role: "alert" }, `Failed at ${run.failedStep ?? "?"}: ${run.failureReason ?? ""}`));
  if (run.changeSummary)
    parts.push(
      h(
        "p",
        {},
        "Changes: ",
        Object.entries(run.changeSummary)
          .map(([op, n]) => `${op} ${n}`)
          .join(", "),
      ),
    );
  if (run.outputs && Object.keys(run.outputs).length) {
    parts.push(
      table(
        "Outputs",
        ["Output", "Value"],
        Object.entries(run.outputs).map(([k, v]) => [h("code", {}, k), typeof v === "string" ? v : JSON.stringify(v)]),
      ),
    );
  }
  if (run.policy?.violations.length) {
    parts.push(
      h("h3", {}, "Policy violations"),
      h(
        "ul",
        {},
        run.policy.violations.map((v) => h("li", {}, `${v.enforcement} ${v.policy}: ${v.message}`)),
      ),
    );
  }
  return parts.length ? h("section", { "aria-labelledby": "result-h" }, h("h2", { id: "result-h" }, "Result"), parts) : null;
}

export const runView: View = async ({ main, params, onLeave }) => {
  const [id] = params;
  let run = await api.get<RunView>(runPath(id));
  const events: RunEventMessage[] = [];
  const title = heading(`${run.kind} of ${run.owner}/${run.repo}`);
  const facts = h("dl", { class: "facts" });
  const auth = h("div", {});
  const actions = h("div", { class: "actions" });
  const steps = h("div", {});
  const connection = h("p", { class: "muted", id: "stream-state", role: "status" });
  const log = h("ol", { class: "events", "aria-label": "Events", tabindex: 0 });
  const diff = h("div", {});
  const result = h("div", {});
  const base = run.kind === "preview" ? await previewBase(run) : null;

  function render(): void {
    replace(
      facts,
      h("dt", {}, "Status"),
      h("dd", {}, badge(run.status), run.cancelRequested && !isTerminal(run.status) ? " (cancel requested)" : ""),
      h("dt", {}, "Step"),
      h("dd", {}, run.step ?? "—"),
      h("dt", {}, "Repository"),
      h("dd", {}, h("a", { href: repoHref(run.owner, run.repo) }, `${run.owner}/${run.repo}`)),
      run.position !== null ? [h("dt", {}, "Queue position"), h("dd", {}, String(run.position))] : null,
      h("dt", {}, "Created"),
      h("dd", {}, when(run.createdAt)),
      h("dt", {}, "Took"),
      h("dd", {}, duration(run.startedAt, run.finishedAt)),
      h("dt", {}, "Run id"),
      h("dd", {}, h("code", {}, run.id)),
    );
    replace(auth, authBox(run));
    replace(
      actions,
      isTerminal(run.status)
        ? null
        : actionButton("Cancel run", async () => {
            await api.post(`${runPath(id)}/cancel`);
            await refresh();
          }),
    );
    replace(steps, stepsOf(events, run.step));
    replace(result, resultOf(run));
    if (run.kind === "preview") {
      replace(
        diff,
        h("h2", { id: "diff-h" }, "Preview diff"),
        h("h3", {}, "Settings (applied → proposed)"),
        base
          ? null
          : h(
              "p",
              { class: "note" },
              "No applied settings were found (the repo is not onboarded, or this server keeps no run history): every setting shows as added.",
            ),
        renderDiff("Settings diff", settingsDiff(base, run.request)),
        h("h3", {}, "Resources"),
        renderDiff("Resource plan", resourceDiff(events)),
      );
    }
  }

  // One read at a time; an event during a read asks for one more, so the last state shown is never older than the
  // last event. A read that fails (the network away) leaves the page as it was until the next event.
  let reading = false;
  let again = false;
  async function refresh(): Promise<void> {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const fresh = await api.get<RunView>(runPath(id));
        const changed = fresh.status !== run.status;
        run = fresh;
        render();
        if (changed) announce(`Run ${run.status}`);
      } while (again);
    } catch {
      // shown again at the next event
    } finally {
      reading = false;
    }
  }

  const follower = followRunEvents(id, {
    event(message) {
      events.push(message);
      log.append(h("li", { "data-seq": message.seq }, h("span", { class: "seq" }, `#${message.seq} `), describeEvent(message)));
      log.scrollTop = log.scrollHeight;
      void refresh();
    },
    state(state: StreamState, detail) {
      const text: Record<StreamState, string> = {
        connecting: "Connecting to the event stream…",
        live: "Live: following the event stream.",
        reconnecting: "Connection ended; resuming…",
        ended: "The run is finished; all events shown.",
        stopped: `The event stream stopped: ${detail.error ?? ""}`,
      };
      connection.textContent = `${text[state]}${detail.reconnects ? ` The stream was resumed ${detail.reconnects}× with Last-Event-ID.` : ""}`;
      connection.dataset.state = state;
      connection.dataset.reconnects = String(detail.reconnects);
      if (state === "ended") void refresh();
    },
  });
  onLeave(() => follower.stop());

  render();
  replace(
    main,
    title,
    facts,
    auth,
    actions,
    h("section", { "aria-labelledby": "progress-h" }, h("h2", { id: "progress-h" }, "Progress"), steps, connection, log),
    diff,
    result,
  );
};
