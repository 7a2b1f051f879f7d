import { ApiError } from "../api";
import { h } from "../dom";

/** What a view is given: where to draw, and a way to say it must stop (its live streams) when the user leaves. */
export interface ViewContext {
  main: HTMLElement;
  params: string[];
  onLeave(cleanup: () => void): void;
  go(hash: string): void;
}

export type View = (ctx: ViewContext) => Promise<void>;

/** The page's heading, which takes focus on arrival so keyboard and screen-reader users start at the content. */
export function heading(text: string): HTMLHeadingElement {
  return h("h1", { tabindex: -1 }, text);
}

export function errorNote(err: unknown): HTMLElement {
  return h("p", { class: "note error", role: "alert" }, (err as Error).message);
}

/** Says which route a view is waiting for, when the server answers that it has no such route. */
export function missingRoute(route: string, instead: string): HTMLElement {
  return h("p", { class: "note" }, `This server has no ${route} yet, so `, instead, ".");
}

export function isMissingRoute(err: unknown): boolean {
  return err instanceof ApiError && err.routeMissing;
}

/** A button that runs an action once at a time, showing its error beside it. */
export function actionButton(label: string, action: () => Promise<void>, cls = ""): HTMLElement {
  const out = h("span", { role: "status", class: "muted" });
  const button = h("button", { type: "button", class: cls }, label);
  button.addEventListener("click", () => {
    button.disabled = true;
    out.textContent = "";
    action()
      .catch((err: unknown) => {
        out.textContent = (err as Error).message;
        out.className = "field-error";
      })
      .finally(() => (button.disabled = false));
  });
  return h("span", { class: "action" }, button, " ", out);
}
