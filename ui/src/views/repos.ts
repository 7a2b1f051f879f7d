import { api, query, repoPath } from "../api";
import { h, replace, table } from "../dom";
import { apiForm } from "../form";
import { badge, envPod, repoHref, repoLinks, runHref, when } from "../format";
import type { RepoView, RunAccepted, RunView } from "../types";
import { actionButton, heading, isMissingRoute, missingRoute, type View } from "./common";
import { PREVIEW_GROUPS } from "./onboard";
import { rememberPreviewBase, runsTable } from "./runs";

function lastRunCell(run: RunView | null): HTMLElement | string {
  if (!run) return "—";
  return h("span", {}, h("a", { href: runHref(run.id) }, run.kind), " ", badge(run.status));
}

export const reposView: View = async ({ main }) => {
  const { repos } = await api.get<{ repos: RepoView[] }>("/v1/repos");
  replace(
    main,
    heading("Repositories"),
    h("div", { class: "actions" }, h("a", { class: "button primary", href: "#/onboard" }, "Onboard a repository")),
    repos.length === 0
      ? h("p", {}, "No repository is known here yet.")
      : table(
          "Repositories",
          ["Repository", "State", "Drift", "Last run", "Links"],
          repos.map((r) => [
            h("a", { href: repoHref(r.owner, r.repo) }, r.fullName),
            badge(r.state),
            r.registry ? badge(String(r.registry.driftStatus ?? "unknown")) : "—",
            lastRunCell(r.lastRun),
            repoLinks(r),
          ]),
        ),
  );
};

/** The applied settings a preview starts from: the latest succeeded onboard or update before it. */
export function appliedRequest(runs: RunView[], before?: string): Record<string, unknown> | null {
  const applied = runs.find(
    (r) => (r.kind === "onboard" || r.kind === "update") && r.status === "succeeded" && (!before || r.createdAt < before),
  );
  return applied ? applied.request : null;
}

/** A repo's runs, newest first: GET /v1/repos/{owner}/{repo}/runs, or only its last run on a server without it. */
export async function repoRuns(repo: RepoView, limit = 20): Promise<{ runs: RunView[]; complete: boolean }> {
  try {
    const page = await api.get<{ runs: RunView[] }>(`${repoPath(repo.owner, repo.repo)}/runs${query({ limit })}`);
    return { runs: page.runs, complete: true };
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    return { runs: repo.lastRun ? [repo.lastRun] : [], complete: false };
  }
}

export const repoView: View = async ({ main, params, go }) => {
  const [owner, repo] = params;
  const base = repoPath(owner, repo);
  const view = await api.get<RepoView>(base);
  const { runs, complete } = await repoRuns(view);
  const r = view.registry;
  const queue = (path: string) => async () => {
    const { body } = await api.post<RunAccepted>(`${base}/${path}`);
    go(runHref(body.runId));
  };

  const preview = apiForm({
    label: "Preview a change",
    groups: PREVIEW_GROUPS,
    submitLabel: "Preview",
    async onSubmit(form) {
      const { body } = await api.post<RunAccepted>(`${base}/preview`, form.body());
      // What the preview is compared with, should the server not list this repo's runs.
      rememberPreviewBase(body.runId, appliedRequest(runs));
      go(runHref(body.runId));
    },
  });

  const confirmId = "offboard-confirm";
  const confirm = h("input", {
    id: confirmId,
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": `${confirmId}-hint`,
  });
  const offboard = h("button", { type: "button", class: "danger", disabled: true }, `Offboard ${view.fullName}`);
  const offboardOut = h("p", { role: "status" });
  confirm.addEventListener("input", () => (offboard.disabled = confirm.value.trim() !== view.fullName));
  offboard.addEventListener("click", () => {
    if (confirm.value.trim() !== view.fullName) return;
    offboard.disabled = true;
    api.delete<RunAccepted>(base).then(
      ({ body }) => go(runHref(body.runId)),
      (err: unknown) => {
        offboardOut.textContent = (err as Error).message;
        offboardOut.className = "field-error";
        offboard.disabled = false;
      },
    );
  });

  replace(
    main,
    heading(view.fullName),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "State"),
      h("dd", {}, badge(view.state)),
      h("dt", {}, "Drift"),
      h("dd", {}, r ? [badge(String(r.driftStatus ?? "unknown")), ` checked ${when(r.driftCheckedAt as string | null)}`] : "—"),
      h("dt", {}, "Stack"),
      h("dd", {}, h("code", {}, view.stackName)),
      h("dt", {}, "Display name"),
      h("dd", {}, String(r?.displayName ?? view.lastRun?.request.displayName ?? "—")),
      h("dt", {}, "Default branch"),
      h("dd", {}, String(r?.defaultBranch ?? "—")),
      h("dt", {}, "Links"),
      h("dd", {}, repoLinks(view)),
      h("dt", {}, "Environment pod"),
      h("dd", {}, envPod(view) ?? "—"),
    ),
    h(
      "section",
      { "aria-labelledby": "actions-h" },
      h("h2", { id: "actions-h" }, "Actions"),
      h("div", { class: "actions" }, actionButton("Refresh state", queue("refresh")), actionButton("Check drift", queue("drift-check"))),
    ),
    h(
      "section",
      { "aria-labelledby": "runs-h" },
      h("h2", { id: "runs-h" }, "Runs"),
      complete ? null : missingRoute("GET /v1/repos/{owner}/{repo}/runs", "only the last run shows"),
      runsTable(runs),
    ),
    h(
      "section",
      { "aria-labelledby": "preview-h" },
      h("h2", { id: "preview-h" }, "Preview a change"),
      h(
        "p",
        { class: "muted" },
        "Fields left empty keep their applied values. The preview runs like any run of this stack and changes nothing.",
      ),
      preview.element,
    ),
    h(
      "section",
      { "aria-labelledby": "offboard-h", class: "danger-zone" },
      h("h2", { id: "offboard-h" }, "Offboard"),
      h("p", {}, "Offboarding destroys the repo's environment, webhook, board, secrets and registration."),
      h(
        "div",
        { class: "field" },
        h("label", { for: confirmId }, `Type ${view.fullName} to confirm`),
        h("p", { class: "hint", id: `${confirmId}-hint` }, "The button stays disabled until the name matches exactly."),
        confirm,
      ),
      h("div", { class: "actions" }, offboard),
      offboardOut,
    ),
  );
};
