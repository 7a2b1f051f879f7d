import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { RunEvent } from "../domain/runs";
import { redactUrlCredentials } from "../lib/redact";

// Long enough for a provider's error, short enough that one chatty diagnostic cannot swamp the event log.
const MESSAGE_MAX = 4000;
// eslint-disable-next-line no-control-regex -- the point is to match terminal escape sequences
const ANSI = /\u001b\[[0-9;]*[A-Za-z]|<\{%[^%]*%\}>/g;

export function cleanMessage(message: string): string {
  // The CLI prints its backend URL in errors: the password never reaches a run's record.
  const text = redactUrlCredentials(message.replace(ANSI, ""), "***").trim();
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX)}…` : text;
}

/**
 * The part of an engine event worth recording: which resource, which operation, what was said. Step
 * metadata's `old`/`new` states (inputs and outputs of the resource) are deliberately never copied.
 */
export function summariseEngineEvent(event: EngineEvent): RunEvent | undefined {
  const step = event.resourcePreEvent ?? event.resOutputsEvent ?? event.resOpFailedEvent;
  if (step) {
    const phase = event.resourcePreEvent ? "pre" : event.resOutputsEvent ? "done" : "failed";
    return { type: "resource", phase, op: step.metadata.op, urn: step.metadata.urn, resourceType: step.metadata.type };
  }
  const diag = event.diagnosticEvent;
  if (diag) {
    // Debug diagnostics are the engine's trace (they even carry serialized dynamic-provider code): not a run's story.
    // (The SDK's type omits "debug", but the engine sends it.)
    if (diag.ephemeral || (diag.severity as string) === "debug") return undefined;
    const message = cleanMessage(diag.message);
    if (!message) return undefined;
    return { type: "diagnostic", severity: diag.severity, message, ...(diag.urn ? { urn: diag.urn } : {}) };
  }
  const policy = event.policyEvent;
  if (policy) {
    return {
      type: "policy",
      policyPack: policy.policyPackName,
      policy: policy.policyName,
      enforcement: policy.enforcementLevel,
      message: cleanMessage(policy.message),
      ...(policy.resourceUrn ? { urn: policy.resourceUrn } : {}),
    };
  }
  const summary = event.summaryEvent;
  if (summary) {
    // The CLI writes this field as "PolicyPacks" (no JSON tag upstream), whatever the SDK's type says.
    const packs = summary.policyPacks ?? (summary as unknown as { PolicyPacks?: Record<string, string> }).PolicyPacks;
    return {
      type: "summary",
      changes: { ...summary.resourceChanges } as Record<string, number>,
      durationSeconds: summary.durationSeconds,
      ...(packs && Object.keys(packs).length > 0 ? { policyPacks: { ...packs } } : {}),
    };
  }
  return undefined;
}
