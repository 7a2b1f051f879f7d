import { api, query } from "../api";
import { h, replace, uid } from "../dom";
import { actionButton } from "./common";

/**
 * A history list of the API (GET /v1/runs, /v1/audit, /v1/deliveries…): its filters as a labelled form, a page of
 * rows, and "older" pages by the answer's nextCursor.
 */
export interface Filter {
  name: string;
  control: HTMLInputElement | HTMLSelectElement;
  field: HTMLElement;
}

export function textFilter(name: string, label: string, placeholder?: string): Filter {
  const id = uid(`filter-${name}`);
  const control = h("input", { id, type: "text", autocomplete: "off", placeholder });
  return { name, control, field: h("div", { class: "field" }, h("label", { for: id }, label), control) };
}

export function choiceFilter(name: string, label: string, choices: readonly string[]): Filter {
  const id = uid(`filter-${name}`);
  const control = h(
    "select",
    { id },
    h("option", { value: "" }, "any"),
    choices.map((c) => h("option", { value: c }, c)),
  );
  return { name, control, field: h("div", { class: "field" }, h("label", { for: id }, label), control) };
}

export interface HistoryList {
  filters: HTMLElement;
  list: HTMLElement;
  more: HTMLElement;
  /** The first page with the filters as they are; rejects as the API does (a caller may fall back). */
  load(): Promise<void>;
}

export function historyList<T>(opts: {
  what: string;
  path: string;
  /** The answer's member holding the rows (`runs`, `entries`, `deliveries`). */
  key: string;
  filters: Filter[];
  limit: number;
  render(items: T[]): HTMLElement;
}): HistoryList {
  const list = h("div", {});
  const more = h("div", { class: "actions" });

  async function load(cursor?: string): Promise<void> {
    const params = Object.fromEntries(opts.filters.map((f) => [f.name, f.control.value.trim()]));
    const page = await api.get<Record<string, unknown> & { nextCursor: string | null }>(
      `${opts.path}${query({ ...params, cursor, limit: opts.limit })}`,
    );
    const items = (page[opts.key] ?? []) as T[];
    if (!cursor) list.replaceChildren();
    list.append(items.length === 0 && !cursor ? h("p", {}, `No ${opts.what}.`) : opts.render(items));
    replace(more, page.nextCursor ? actionButton(`Older ${opts.what}`, () => load(page.nextCursor!)) : null);
  }

  const filters = h(
    "form",
    {
      class: "grid2",
      "aria-label": `Filter ${opts.what}`,
      onsubmit: (e: Event) => {
        e.preventDefault();
        load().catch((err: Error) => replace(list, h("p", { role: "alert" }, err.message)));
      },
    },
    opts.filters.map((f) => f.field),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")),
  );
  return { filters, list, more, load: () => load() };
}
