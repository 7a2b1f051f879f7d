import { h, replace, table } from "../dom";
import { badge, repoHref, when } from "../format";
import { heading, isMissingRoute, missingRoute, type View } from "./common";
import { choiceFilter, historyList, textFilter } from "./history";

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
  const deliveries = historyList<DeliveryView>({
    what: "deliveries",
    path: "/v1/deliveries",
    key: "deliveries",
    limit: 50,
    filters: [textFilter("event", "Event", "issues"), choiceFilter("outcome", "Outcome", OUTCOMES)],
    render: (items) =>
      table(
        "Webhook deliveries",
        ["Received", "Source", "Event", "Outcome", "Work", "Delivery id"],
        items.map((d) => [
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
  });
  replace(main, heading("Webhook deliveries"), deliveries.filters, deliveries.list, deliveries.more);
  try {
    await deliveries.load();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    replace(main, heading("Webhook deliveries"), missingRoute("GET /v1/deliveries", "deliveries cannot be listed here"));
  }
};
