import { api, query } from "../api";
import { h, replace, table, uid } from "../dom";
import { badge, when } from "../format";
import type { AuditEntry } from "../types";
import { actionButton, heading, type View } from "./common";

export const auditView: View = async ({ main }) => {
  const actorId = uid("audit-actor");
  const routeId = uid("audit-route");
  const actor = h("input", { id: actorId, type: "text", autocomplete: "off" });
  const route = h("input", { id: routeId, type: "text", autocomplete: "off", placeholder: "/v1/repos/:owner/:repo" });
  const list = h("div", {});
  const more = h("div", { class: "actions" });

  async function load(cursor?: string): Promise<void> {
    const page = await api.get<{ entries: AuditEntry[]; nextCursor: string | null }>(
      `/v1/audit${query({ actor: actor.value.trim(), route: route.value.trim(), cursor, limit: 50 })}`,
    );
    if (!cursor) list.replaceChildren();
    list.append(
      page.entries.length === 0 && !cursor
        ? h("p", {}, "No entries.")
        : table(
            "Audit trail",
            ["When", "Who", "Request", "Target", "Answer"],
            page.entries.map((e) => [
              when(e.at),
              `${e.actor.name} (${e.actor.role})`,
              h("code", {}, `${e.method} ${e.route ?? "(no route)"}`),
              e.target ?? "—",
              badge(String(e.status)),
            ]),
          ),
    );
    replace(more, page.nextCursor ? actionButton("Older entries", () => load(page.nextCursor!)) : null);
  }

  const filters = h(
    "form",
    {
      class: "grid2",
      "aria-label": "Filter the audit trail",
      onsubmit: (e: Event) => (
        e.preventDefault(),
        void load().catch((err: Error) => replace(list, h("p", { role: "alert" }, err.message)))
      ),
    },
    h("div", { class: "field" }, h("label", { for: actorId }, "Actor (token id or name)"), actor),
    h("div", { class: "field" }, h("label", { for: routeId }, "Route"), route),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
  );
  replace(
    main,
    heading("Audit trail"),
    h("p", { class: "muted" }, "Every mutating request, newest first (admin tokens only)."),
    filters,
    list,
    more,
  );
  await load();
};
