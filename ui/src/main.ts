import { session, whenUnauthenticated } from "./api";
import { h, replace } from "./dom";
import { errorNote, type View } from "./views/common";
import { auditView } from "./views/audit";
import { deliveriesView } from "./views/deliveries";
import { renderLogin } from "./views/login";
import { onboardView } from "./views/onboard";
import { repoView, reposView } from "./views/repos";
import { runView, runsView } from "./views/runs";
import { agentsView, taskView, tasksView } from "./views/work";

/**
 * The dashboard's pages, one per hash route (the hash never reaches the server and never holds the token).
 * Every page reads and acts through the public API only.
 */
const ROUTES: { pattern: RegExp; view: View; nav: string }[] = [
  { pattern: /^#\/repos\/([^/]+)\/([^/]+)$/, view: repoView, nav: "#/repos" },
  { pattern: /^#\/repos$/, view: reposView, nav: "#/repos" },
  { pattern: /^#\/runs\/([^/]+)$/, view: runView, nav: "#/runs" },
  { pattern: /^#\/runs$/, view: runsView, nav: "#/runs" },
  { pattern: /^#\/onboard$/, view: onboardView, nav: "#/onboard" },
  { pattern: /^#\/tasks\/([^/]+)$/, view: taskView, nav: "#/tasks" },
  { pattern: /^#\/tasks$/, view: tasksView, nav: "#/tasks" },
  { pattern: /^#\/agents$/, view: agentsView, nav: "#/agents" },
  { pattern: /^#\/deliveries$/, view: deliveriesView, nav: "#/deliveries" },
  { pattern: /^#\/audit$/, view: auditView, nav: "#/audit" },
];

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
let leave: (() => void)[] = [];
let generation = 0;

function go(hash: string): void {
  if (location.hash === hash) void show();
  else location.hash = hash;
}

async function show(notice?: string): Promise<void> {
  for (const cleanup of leave) cleanup();
  leave = [];
  const mine = ++generation;
  if (!session.token()) {
    nav.hidden = true;
    renderLogin(main, () => go(location.hash && location.hash !== "#/login" ? location.hash : "#/repos"), notice);
    return;
  }
  nav.hidden = false;
  const hash = location.hash || "#/repos";
  const route = ROUTES.find((r) => r.pattern.test(hash));
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === route?.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!route) {
    replace(main, h("h1", { tabindex: -1 }, "Not found"), h("p", {}, h("a", { href: "#/repos" }, "Back to the repositories")));
    main.querySelector("h1")?.focus();
    return;
  }
  const params = (route.pattern.exec(hash) ?? []).slice(1).map(decodeURIComponent);
  replace(main, h("p", { role: "status" }, "Loading…"));
  try {
    await route.view({ main, params, onLeave: (cleanup) => leave.push(cleanup), go });
  } catch (err) {
    if (mine !== generation) return;
    replace(main, h("h1", { tabindex: -1 }, "Something went wrong"), errorNote(err));
  }
  if (mine !== generation) return;
  main.querySelector<HTMLElement>("h1")?.focus();
}

whenUnauthenticated(() => {
  session.clear();
  void show("The server no longer accepts your token: log in again.");
});

document.getElementById("logout")!.addEventListener("click", () => {
  session.clear();
  void show("Logged out.");
});

window.addEventListener("hashchange", () => void show());
void show();
