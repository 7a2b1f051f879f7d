import { ApiError } from "./api";
import { h, uid } from "./dom";
import type { FieldIssue } from "./types";

/**
 * A form of labelled fields whose values become a request body (dotted names nest: `resources.limits.cpu`), and
 * which shows the API's 400 answer the way a person reads it: each issue next to its field (aria-invalid,
 * aria-describedby), and all of them in a summary that takes focus, each a button back to its field. The browser's
 * own validation is off: every message comes from the API, so the dashboard and the API never disagree.
 */
export interface FieldSpec {
  name: string;
  label: string;
  hint?: string;
  kind?: "text" | "list" | "check";
  autocomplete?: string;
  placeholder?: string;
}

export interface FieldGroup {
  legend: string;
  fields: FieldSpec[];
}

interface Control {
  spec: FieldSpec;
  input: HTMLInputElement;
  error: HTMLElement;
  hintId?: string;
}

export interface ApiForm {
  element: HTMLFormElement;
  body(): Record<string, unknown>;
  showIssues(issues: FieldIssue[], fallback?: string): void;
  clearIssues(): void;
  control(name: string): HTMLInputElement | undefined;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

export function apiForm(opts: {
  label: string;
  groups: FieldGroup[];
  submitLabel: string;
  onSubmit(form: ApiForm): Promise<void>;
}): ApiForm {
  const controls: Control[] = [];
  const summary = h("div", { class: "error-summary", tabindex: -1, hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, opts.submitLabel);
  const status = h("p", { class: "muted", role: "status" });

  function field(spec: FieldSpec): HTMLElement {
    const id = uid(`f-${spec.name.replace(/\W/g, "-")}`);
    const input = h("input", {
      id,
      name: spec.name,
      type: spec.kind === "check" ? "checkbox" : "text",
      autocomplete: spec.autocomplete ?? "off",
      placeholder: spec.placeholder,
      spellcheck: "false",
    });
    const hintId = spec.hint ? `${id}-hint` : undefined;
    const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    if (hintId) input.setAttribute("aria-describedby", hintId);
    controls.push({ spec, input, error, hintId });
    const label = h("label", { for: id }, spec.label);
    const hint = spec.hint ? h("p", { class: "hint", id: hintId }, spec.hint) : null;
    return spec.kind === "check"
      ? h("div", { class: "field check" }, input, label, hint, error)
      : h("div", { class: "field" }, label, hint, input, error);
  }

  const element = h(
    "form",
    { class: "stack", novalidate: true, "aria-label": opts.label },
    summary,
    opts.groups.map((g) => h("fieldset", {}, h("legend", {}, g.legend), h("div", { class: "grid2" }, g.fields.map(field)))),
    h("div", { class: "actions" }, submit),
    status,
  );

  /** The field an issue is about: the longest field name that starts its path (`labels.0` → `labels`). */
  function controlFor(path: string): Control | undefined {
    let best: Control | undefined;
    for (const c of controls) {
      if ((path === c.spec.name || path.startsWith(`${c.spec.name}.`)) && (!best || c.spec.name.length > best.spec.name.length)) best = c;
    }
    return best;
  }

  const form: ApiForm = {
    element,
    control: (name) => controls.find((c) => c.spec.name === name)?.input,
    body() {
      const body: Record<string, unknown> = {};
      for (const { spec, input } of controls) {
        if (spec.kind === "check") {
          if (input.checked) setPath(body, spec.name, true);
          continue;
        }
        const text = input.value.trim();
        if (!text) continue;
        setPath(
          body,
          spec.name,
          spec.kind === "list"
            ? text
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean)
            : text,
        );
      }
      return body;
    },
    clearIssues() {
      summary.hidden = true;
      summary.replaceChildren();
      for (const c of controls) {
        c.error.hidden = true;
        c.error.textContent = "";
        c.input.removeAttribute("aria-invalid");
        if (c.hintId) c.input.setAttribute("aria-describedby", c.hintId);
        else c.input.removeAttribute("aria-describedby");
      }
    },
    showIssues(issues, fallback) {
      form.clearIssues();
      const byControl = new Map<Control, string[]>();
      const items: HTMLElement[] = [];
      for (const issue of issues) {
        const c = controlFor(issue.field);
        const text = `${issue.field}: ${issue.message}`;
        if (c) {
          byControl.set(c, [...(byControl.get(c) ?? []), issue.field === c.spec.name ? issue.message : text]);
          items.push(
            h(
              "li",
              {},
              h("button", { type: "button", class: "link", onclick: () => c.input.focus() }, `${c.spec.label}: ${issue.message}`),
            ),
          );
        } else items.push(h("li", {}, text));
      }
      for (const [c, messages] of byControl) {
        c.error.textContent = messages.join("; ");
        c.error.hidden = false;
        c.input.setAttribute("aria-invalid", "true");
        c.input.setAttribute("aria-describedby", [c.hintId, c.error.id].filter(Boolean).join(" "));
      }
      summary.append(
        h("h2", {}, "The server refused this request"),
        items.length ? h("ul", {}, items) : h("p", {}, fallback ?? "See the message above."),
      );
      summary.hidden = false;
      summary.focus();
    },
  };

  element.addEventListener("submit", (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    status.textContent = "Sending…";
    opts
      .onSubmit(form)
      .catch((err: unknown) => form.showIssues(err instanceof ApiError ? err.issues : [], (err as Error).message))
      .finally(() => {
        submit.disabled = false;
        status.textContent = "";
      });
  });
  return form;
}
