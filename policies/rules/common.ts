import type { PolicyResource, ReportViolation, ResourceValidationArgs } from "@pulumi/policy";

/** A Kubernetes container as the policy sees it: the resource's inputs, plain JSON. */
export interface Container {
  name?: string;
  image?: string;
  env?: { name?: string; value?: unknown; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Probe {
  httpGet?: unknown;
  exec?: unknown;
  tcpSocket?: unknown;
  grpc?: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  imagePullSecrets?: { name?: string }[];
}

/** Workload kinds whose pod spec lives at spec.template.spec. */
const TEMPLATE_KINDS = ["apps/v1:Deployment", "apps/v1:StatefulSet", "apps/v1:DaemonSet", "apps/v1:ReplicaSet", "batch/v1:Job"];

/** The pod spec of a Kubernetes workload resource (`kubernetes:<group/version>:<Kind>`), or undefined. */
export function podSpecOf(type: string, props: Record<string, unknown>): PodSpec | undefined {
  const p = props as { spec?: Record<string, unknown> };
  if (TEMPLATE_KINDS.some((k) => type === `kubernetes:${k}`)) {
    return (p.spec?.template as { spec?: PodSpec } | undefined)?.spec;
  }
  if (type === "kubernetes:batch/v1:CronJob") {
    const job = p.spec?.jobTemplate as { spec?: { template?: { spec?: PodSpec } } } | undefined;
    return job?.spec?.template?.spec;
  }
  if (type === "kubernetes:core/v1:Pod") return p.spec as PodSpec | undefined;
  return undefined;
}

/** Every container (init containers too) of a pod spec. */
export function containersOf(spec: PodSpec | undefined): Container[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/** The stack name inside a URN `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string {
  return urn.split("::")[0]?.replace(/^urn:pulumi:/, "") ?? "";
}

/** A repo stack is `<owner>.<repo>`; platform stacks contain no dot. */
export function isRepoStack(stack: string): boolean {
  return stack.includes(".");
}

/** How violations name a resource: its name and URN, so the reader can find it in the program and the state. */
export function describe(resource: { name: string; urn: string }): string {
  return `${resource.name} (${resource.urn})`;
}

/** Reports each problem found by a pure check, prefixed with the resource and followed by how to fix it. */
export function reportAll(
  problems: string[],
  resource: Pick<ResourceValidationArgs | PolicyResource, "name" | "urn">,
  fix: string,
  reportViolation: ReportViolation,
): void {
  for (const problem of problems) reportViolation(`${describe(resource)}: ${problem}. Fix: ${fix}`, resource.urn);
}

/** Marks a value that is unknown during preview (computed by a resource not yet created). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");

/**
 * Reads a property that may be unknown during preview: the policy SDK throws its (internal) UnknownValueError when
 * one is read, and a rule that lets it escape is skipped as a whole with an advisory "can't run during preview".
 */
export function readKnown<T>(read: () => T): T | typeof UNKNOWN {
  try {
    return read();
  } catch (err) {
    if (err instanceof Error && err.constructor.name === "UnknownValueError") return UNKNOWN;
    throw err;
  }
}
