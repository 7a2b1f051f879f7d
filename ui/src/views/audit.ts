import { h, replace, table } from "../dom";
import { badge, when } from "../format";
import type { AuditEntry } from "../types";
import { heading, type View } from "./common";
import { historyList, textFilter } from "./history";

export const auditView: View = async ({ main }) => {
  const audit = historyList<AuditEntry>({
    what: "audit entries",
    path: "/v1/audit",
    key: "entries",
    limit: 50,
    filters: [textFilter("actor", "Actor (token id or name)"), textFilter("route", "Route", "/v1/repos/:owner/:repo")],
    render: (entries) =>
      table(
        "Audit trail",
        ["When", "Who", "Request", "Target", "Answer"],
        entries.map((e) => [
          when(e.at),
          `${e.actor.name} (${e.actor.role})`,
          h("code", {}, `${e.method} ${e.route ?? "(no route)"}`),
          e.target ?? "—",
          badge(String(e.status)),
        ]),
      ),
  });
  replace(
    main,
    heading("Audit trail"),
    h("p", { class: "muted" }, "Every mutating request, newest first (admin tokens only)."),
    audit.filters,
    audit.list,
    audit.more,
  );
  await audit.load();
};
