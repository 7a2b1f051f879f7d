import { ApiError, request, session } from "../api";
import { h, replace, uid } from "../dom";

/**
 * The token is checked with a read any role may make (GET /v1/repos; agent tokens read nothing and are refused),
 * then kept in sessionStorage for this tab. The form never submits anywhere: a token must not end up in a URL.
 */
export function renderLogin(main: HTMLElement, onDone: () => void, notice?: string): void {
  const id = uid("token");
  const input = h("input", {
    id,
    type: "password",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": `${id}-hint`,
  });
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true, role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h(
    "form",
    { class: "stack", novalidate: true, "aria-label": "Log in" },
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, "API token"),
      h(
        "p",
        { class: "hint", id: `${id}-hint` },
        "A token of MESH_SIX_API_TOKENS or one made with POST /v1/tokens. Kept only in this tab.",
      ),
      input,
      error,
    ),
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input.value.trim();
    const fail = (message: string) => {
      error.textContent = message;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
      input.focus();
    };
    if (!token) return fail("Enter a token.");
    button.disabled = true;
    request("GET", "/v1/repos", undefined, token)
      .then(() => {
        session.save(token);
        onDone();
      })
      .catch((err: unknown) => fail(err instanceof ApiError ? err.message : `The server could not be reached: ${(err as Error).message}`))
      .finally(() => (button.disabled = false));
  });
  replace(main, h("h1", { tabindex: -1 }, "Log in"), notice ? h("p", { class: "note", role: "status" }, notice) : null, form);
  input.focus();
}
