import type { RunEvent } from "../domain/runs";

/** One progress line per event worth a human's attention; resources left unchanged are not. */
export function progressLine(event: RunEvent): string | undefined {
  switch (event.type) {
    case "step":
      return `== ${event.step}`;
    case "resource": {
      if (event.op === "same" || (event.phase === "done" && event.op !== "read")) return undefined;
      const name = event.urn.slice(event.urn.lastIndexOf("::") + 2);
      return `   ${event.phase === "failed" ? "FAILED " : ""}${event.op.padEnd(8)} ${event.resourceType} ${name}`;
    }
    case "diagnostic":
      return `   ${event.severity}: ${event.message.replace(/\n/g, "\n     ")}`;
    case "policy":
      return `   policy ${event.enforcement} ${event.policyPack}/${event.policy}: ${event.message}`;
    case "summary":
      return `   changes: ${
        Object.entries(event.changes)
          .map(([op, n]) => `${op}=${n}`)
          .join(" ") || "none"
      }`;
    case "log":
      return `   ${event.message}`;
  }
}
