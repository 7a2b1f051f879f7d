import { api, query } from "../api";
import { h, replace, table, uid } from "../dom";
import { badge, repoHref, when } from "../format";
import type { AgentView, TaskSummary, TaskView } from "../types";
import { actionButton, heading, isMissingRoute, missingRoute, type View } from "./common";

const taskHref = (id: string) => `#/tasks/${encodeURIComponent(id)}`;

function attemptsTable(task: TaskView): HTMLElement {
  if (task.attempts.length === 0) return h("p", { class: "muted" }, "No attempt yet.");
  return table(
    `Attempts of task ${task.id}`,
    ["Attempt", "Agent", "Started", "Finished", "Outcome", "Error"],
    task.attempts.map((a) => [
      String(a.attempt),
      a.agentName ?? a.agentId ?? "—",
      when(a.startedAt),
      when(a.finishedAt),
      a.outcome ? badge(a.outcome) : "—",
      a.error ?? "",
    ]),
  );
}

function tasksTable(tasks: TaskSummary[]): HTMLElement {
  if (tasks.length === 0) return h("p", {}, "No tasks.");
  return table(
    "Tasks",
    ["Task", "Repository", "Capability", "State", "Delivery", "Attempts", "Last attempt", "Updated"],
    tasks.map((t) => [
      h("a", { href: taskHref(t.id) }, t.id.slice(0, 8)),
      h("a", { href: repoHref(t.owner, t.repo) }, `${t.owner}/${t.repo}`),
      t.capability,
      badge(t.state),
      badge(t.deliveryStatus),
      `${t.attemptCount} of ${t.maxAttempts}`,
      t.lastAttempt ? [t.lastAttempt.agentName ?? "—", " ", t.lastAttempt.outcome ? badge(t.lastAttempt.outcome) : "in flight"] : "—",
      when(t.updatedAt),
    ]),
  );
}

/** GET /v1/tasks, or undefined from a server without it. */
async function listTasks(
  params: { cursor?: string; agent?: string; limit?: number } = {},
): Promise<{ tasks: TaskSummary[]; nextCursor: string | null } | undefined> {
  try {
    return await api.get<{ tasks: TaskSummary[]; nextCursor: string | null }>(`/v1/tasks${query({ limit: 50, ...params })}`);
  } catch (err) {
    if (isMissingRoute(err)) return undefined;
    throw err;
  }
}

function lookupForm(go: (hash: string) => void): HTMLElement {
  const id = uid("task-id");
  const input = h("input", { id, type: "text", autocomplete: "off", spellcheck: "false" });
  return h(
    "form",
    {
      class: "stack",
      "aria-label": "Find a task",
      onsubmit: (e: Event) => (e.preventDefault(), input.value.trim() && go(taskHref(input.value.trim()))),
    },
    h("div", { class: "field" }, h("label", { for: id }, "Task id"), input),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show task")),
  );
}

export const tasksView: View = async ({ main, go }) => {
  const list = h("div", {});
  const more = h("div", { class: "actions" });
  const page = await listTasks();
  replace(main, heading("Tasks"), list, more, h("h2", {}, "Find a task"), lookupForm(go));
  if (!page) {
    replace(list, missingRoute("GET /v1/tasks", "tasks can only be looked up by id"));
    return;
  }
  const show = (p: { tasks: TaskSummary[]; nextCursor: string | null }) => {
    list.append(tasksTable(p.tasks));
    replace(more, p.nextCursor ? actionButton("Older tasks", async () => show((await listTasks({ cursor: p.nextCursor! }))!)) : null);
  };
  show(page);
};

export const taskView: View = async ({ main, params }) => {
  const task = await api.get<TaskView>(`/v1/tasks/${encodeURIComponent(params[0])}`);
  replace(
    main,
    heading(`Task ${task.id.slice(0, 8)}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Repository"),
      h("dd", {}, h("a", { href: repoHref(task.owner, task.repo) }, `${task.owner}/${task.repo}`)),
      h("dt", {}, "Capability"),
      h("dd", {}, task.capability),
      h("dt", {}, "State"),
      h("dd", {}, badge(task.state)),
      h("dt", {}, "Delivery"),
      h("dd", {}, badge(task.deliveryStatus)),
      h("dt", {}, "Error"),
      h("dd", {}, task.error ?? "—"),
      h("dt", {}, "Task id"),
      h("dd", {}, h("code", {}, task.id)),
    ),
    h("h2", {}, "Attempts"),
    attemptsTable(task),
  );
};

export const agentsView: View = async ({ main }) => {
  const { agents } = await api.get<{ agents: AgentView[] }>("/v1/agents");
  // The tasks each agent had an attempt of (GET /v1/tasks?agent=), with each one's latest attempt.
  const worked = await Promise.all(agents.map((a) => listTasks({ agent: a.id, limit: 10 })));
  const listed = worked.every((w) => w !== undefined);
  replace(
    main,
    heading("Agents"),
    listed ? null : missingRoute("GET /v1/tasks", "agents show without their attempts"),
    agents.length === 0
      ? h("p", {}, "No agent is registered.")
      : agents.map((a, i) => {
          const tasks = worked[i]?.tasks ?? [];
          return h(
            "section",
            { "aria-label": `Agent ${a.name}` },
            h("h2", {}, a.name, " ", badge(a.healthy ? "healthy" : "stale")),
            h(
              "dl",
              { class: "facts" },
              h("dt", {}, "Endpoint"),
              h("dd", {}, h("code", {}, a.endpoint)),
              h("dt", {}, "Capabilities"),
              h(
                "dd",
                {},
                Object.entries(a.capabilities)
                  .map(([c, w]) => `${c} (${w})`)
                  .join(", "),
              ),
              h("dt", {}, "Last heartbeat"),
              h("dd", {}, when(a.lastHeartbeatAt)),
            ),
            !listed
              ? null
              : tasks.length
                ? table(
                    `Tasks attempted by ${a.name}`,
                    ["Task", "State", "Attempts", "Latest attempt"],
                    tasks.map((t) => [
                      h("a", { href: taskHref(t.id) }, t.id.slice(0, 8)),
                      badge(t.state),
                      `${t.attemptCount} of ${t.maxAttempts}`,
                      t.lastAttempt
                        ? [
                            `#${t.lastAttempt.attempt} by ${t.lastAttempt.agentName ?? "?"} `,
                            t.lastAttempt.outcome ? badge(t.lastAttempt.outcome) : "in flight",
                          ]
                        : "—",
                    ]),
                  )
                : h("p", { class: "muted" }, "No attempts yet."),
          );
        }),
  );
};
