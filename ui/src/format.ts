import { h } from "./dom";
import type { RepoView } from "./types";

const TONE: Record<string, string> = {
  succeeded: "good",
  onboarded: "good",
  "in-sync": "good",
  healthy: "good",
  ACCEPTED: "good",
  failed: "bad",
  drifted: "warn",
  FAILED: "bad",
  exhausted: "bad",
  cancelled: "warn",
  interrupted: "warn",
  offboarded: "warn",
  "waiting-for-auth": "busy",
  running: "busy",
  queued: "busy",
  onboarding: "busy",
  offboarding: "busy",
};

export function badge(text: string): HTMLElement {
  return h("span", { class: `badge ${TONE[text] ?? ""}` }, text);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return "—";
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

export const runHref = (id: string) => `#/runs/${encodeURIComponent(id)}`;
export const repoHref = (owner: string, repo: string) => `#/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;

/** GitHub web links of a registry row: the board and the webhook; the environment pod as namespace/name. */
export function repoLinks(repo: RepoView): HTMLElement {
  const r = repo.registry ?? {};
  const web = "https://github.com";
  const links: HTMLElement[] = [];
  if (typeof r.projectNumber === "number") {
    links.push(h("a", { href: `${web}/orgs/${encodeURIComponent(repo.owner)}/projects/${r.projectNumber}`, rel: "noreferrer" }, "board"));
  }
  if (r.webhookId !== null && r.webhookId !== undefined) {
    links.push(h("a", { href: `${web}/${repo.owner}/${repo.repo}/settings/hooks/${String(r.webhookId)}`, rel: "noreferrer" }, "webhook"));
  }
  const pod = envPod(repo);
  if (pod) links.push(h("span", {}, "env pod ", h("code", {}, pod)));
  if (links.length === 0) return h("span", { class: "muted" }, "not registered");
  return h(
    "span",
    { class: "wrap" },
    links.flatMap((l, i) => (i ? [" · ", l] : [l])),
  );
}

export function envPod(repo: RepoView): string | undefined {
  const r = repo.registry ?? {};
  const outputs = repo.lastRun?.outputs ?? {};
  const ns = (r.envNamespace ?? outputs.namespace) as string | undefined;
  const name = (outputs.envPodName as string | undefined) ?? (r.envStatefulset ? `${String(r.envStatefulset)}-0` : undefined);
  return ns && name ? `${ns}/${name}` : undefined;
}
