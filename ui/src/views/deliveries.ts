import { api, query } from "../api";
import { h, replace, table, uid } from "../dom";
import { badge, repoHref, when } from "../format";
import { actionButton, heading, isMissingRoute, missingRoute, type View } from "./common";

/** A webhook delivery as GET /v1/deliveries lists it (schema Delivery; never its payload or signature). */
interface DeliveryView {
  deliveryId: string;
  owner: string;
  repo: string | null;
  event: string;
  action: string | null;
  outcome: string;
  receivedAt: string;
  processedAt: string | null;
  reason: string | null;
  error: string | null;
  workItems: { owner: string; repo: string; kind: string; issueNumber: number | null; taskId: string | null }[];
}

const OUTCOMES = ["received", "processed", "ignored", "failed"];

export const deliveriesView: View = async ({ main }) => {
  const eventId = uid("deliveries-event");
  const outcomeId = uid("deliveries-outcome");
  const event = h("input", { id: eventId, type: "text", autocomplete: "off", placeholder: "issues" });
  const outcome = h(
    "select",
    { id: outcomeId },
    h("option", { value: "" }, "any"),
    OUTCOMES.map((o) => h("option", { value: o }, o)),
  );
  const list = h("div", {});
  const more = h("div", { class: "actions" });

  async function load(cursor?: string): Promise<void> {
    const page = await api.get<{ deliveries: DeliveryView[]; nextCursor: string | null }>(
      `/v1/deliveries${query({ event: event.value.trim(), outcome: outcome.value, cursor, limit: 50 })}`,
    );
    if (!cursor) list.replaceChildren();
    list.append(
      page.deliveries.length === 0 && !cursor
        ? h("p", {}, "No deliveries.")
        : table(
            "Webhook deliveries",
            ["Received", "Source", "Event", "Outcome", "Work", "Delivery id"],
            page.deliveries.map((d) => [
              when(d.receivedAt),
              d.repo ? h("a", { href: repoHref(d.owner, d.repo) }, `${d.owner}/${d.repo}`) : `organization ${d.owner}`,
              d.action ? `${d.event} (${d.action})` : d.event,
              [badge(d.outcome), d.reason || d.error ? ` ${d.error ?? d.reason}` : ""],
              d.workItems.length
                ? d.workItems.map((w) =>
                    h(
                      "div",
                      {},
                      `${w.kind}${w.issueNumber ? ` #${w.issueNumber}` : ""} `,
                      w.taskId ? h("a", { href: `#/tasks/${w.taskId}` }, "task") : null,
                    ),
                  )
                : "—",
              h("code", {}, d.deliveryId),
            ]),
          ),
    );
    replace(more, page.nextCursor ? actionButton("Older deliveries", () => load(page.nextCursor!)) : null);
  }

  const filters = h(
    "form",
    {
      class: "grid2",
      "aria-label": "Filter deliveries",
      onsubmit: (e: Event) => (
        e.preventDefault(),
        void load().catch((err: Error) => replace(list, h("p", { role: "alert" }, err.message)))
      ),
    },
    h("div", { class: "field" }, h("label", { for: eventId }, "Event"), event),
    h("div", { class: "field" }, h("label", { for: outcomeId }, "Outcome"), outcome),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
  );
  replace(main, heading("Webhook deliveries"), filters, list, more);
  try {
    await load();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    replace(main, heading("Webhook deliveries"), missingRoute("GET /v1/deliveries", "deliveries cannot be listed here"));
  }
};
