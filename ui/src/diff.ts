import { h } from "./dom";
import type { RunEventMessage } from "./types";

/** A preview as a reader wants it: which settings change (applied → proposed) and what happens to each resource. */

export type DiffLine = { kind: "add" | "del" | "chg" | "ctx"; text: string };

function flatten(value: unknown, prefix = "", into: Map<string, string> = new Map()): Map<string, string> {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, into);
  } else if (prefix) {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}

/** Setting by setting, sorted by name: `-` what goes, `+` what comes, unchanged ones as context. */
export function settingsDiff(applied: Record<string, unknown> | null, proposed: Record<string, unknown>): DiffLine[] {
  const before = flatten(applied ?? {});
  const after = flatten(proposed);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const lines: DiffLine[] = [];
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    if (a === b) lines.push({ kind: "ctx", text: `  ${key}: ${a}` });
    else {
      if (a !== undefined) lines.push({ kind: "del", text: `- ${key}: ${a}` });
      if (b !== undefined) lines.push({ kind: "add", text: `+ ${key}: ${b}` });
    }
  }
  return lines;
}

const OP_MARK: Record<string, { mark: string; kind: DiffLine["kind"] }> = {
  create: { mark: "+", kind: "add" },
  "create-replacement": { mark: "+", kind: "add" },
  delete: { mark: "-", kind: "del" },
  "delete-replaced": { mark: "-", kind: "del" },
  update: { mark: "~", kind: "chg" },
  replace: { mark: "±", kind: "chg" },
  same: { mark: " ", kind: "ctx" },
  read: { mark: " ", kind: "ctx" },
  refresh: { mark: " ", kind: "ctx" },
};

/** `urn:pulumi:stack::project::type::name` → `type name`. */
function resourceName(urn: string, type: string): string {
  const name = urn.split("::").pop() ?? urn;
  return `${type} ${name}`;
}

/** One line per resource the preview reported (its planned operation), changes first. */
export function resourceDiff(events: RunEventMessage[]): DiffLine[] {
  const ops = new Map<string, { op: string; type: string }>();
  for (const e of events) {
    if (e.type !== "resource" || e.data.phase !== "pre") continue;
    const urn = String(e.data.urn);
    ops.set(urn, { op: String(e.data.op), type: String(e.data.resourceType) });
  }
  const lines = [...ops.entries()].map(([urn, { op, type }]) => {
    const m = OP_MARK[op] ?? { mark: "?", kind: "chg" as const };
    return { kind: m.kind, text: `${m.mark} ${op.padEnd(8)} ${resourceName(urn, type)}` };
  });
  const order = { add: 0, chg: 1, del: 2, ctx: 3 };
  return lines.sort((a, b) => order[a.kind] - order[b.kind]);
}

export function renderDiff(label: string, lines: DiffLine[]): HTMLElement {
  if (lines.length === 0) return h("p", { class: "muted" }, "Nothing to show.");
  return h(
    "pre",
    { class: "diff", "aria-label": label, tabindex: 0 },
    lines.map((l) => h("span", { class: l.kind }, l.text)),
  );
}
