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
  lifecycle?: { postStart?: Probe; preStop?: Probe };
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
  ephemeralContainers?: Container[];
  imagePullSecrets?: { name?: string }[];
}

/**
 * A Kubernetes type token `kubernetes:<group>/<version>:<Kind>` read as Kubernetes does: by API group and kind,
 * whatever the version (the SDK still offers apps/v1beta2, extensions/v1beta1, batch/v1beta1...). `<Kind>Patch`
 * (server-side apply) and `<Kind>List` (objects in items[]) carry the same objects, so they are the same kind here.
 */
export interface KubeKind {
  group: string;
  kind: string;
  patch: boolean;
  list: boolean;
}

export function kubeKind(type: string): KubeKind | undefined {
  const m = /^kubernetes:([^:/]+)\/[^:/]+:([A-Za-z0-9]+)$/.exec(type);
  if (!m) return undefined;
  let kind = m[2];
  const list = kind !== "List" && kind.endsWith("List");
  if (list) kind = kind.slice(0, -"List".length);
  const patch = kind !== "Patch" && kind.endsWith("Patch");
  if (patch) kind = kind.slice(0, -"Patch".length);
  return { group: m[1], kind, patch, list };
}

/** One object a resource carries, with where it is (`items[0]` in a List, "" otherwise) for the messages. */
export interface Located<T> {
  at: string;
  value: T;
}

/** The object(s) a resource carries: the resource itself, or each item of a List. */
export function objectsOf(kind: KubeKind, props: Record<string, unknown>): Located<Record<string, unknown>>[] {
  if (!kind.list) return [{ at: "", value: props }];
  const items = (props as { items?: unknown }).items;
  return (Array.isArray(items) ? items : []).map((value, i) => ({ at: `items[${i}]`, value: (value ?? {}) as Record<string, unknown> }));
}

/** Prefixes a message with where the object is, for Lists. */
export function located(at: string, message: string): string {
  return at === "" ? message : `${at}: ${message}`;
}

const WORKLOAD_GROUPS = ["apps", "extensions"];
/** Where each workload kind keeps its pod spec; every pod-spec rule reads it from here. */
const POD_SPEC_PATHS: { groups: string[]; kinds: string[]; path: string[] }[] = [
  { groups: ["core"], kinds: ["Pod"], path: ["spec"] },
  { groups: ["core"], kinds: ["PodTemplate"], path: ["template", "spec"] },
  { groups: ["core"], kinds: ["ReplicationController"], path: ["spec", "template", "spec"] },
  { groups: WORKLOAD_GROUPS, kinds: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"], path: ["spec", "template", "spec"] },
  { groups: ["batch"], kinds: ["Job"], path: ["spec", "template", "spec"] },
  { groups: ["batch"], kinds: ["CronJob"], path: ["spec", "jobTemplate", "spec", "template", "spec"] },
];

/** The path of the pod spec inside an object of this kind, or undefined for kinds that carry none. */
export function podSpecPath(kind: KubeKind): string[] | undefined {
  return POD_SPEC_PATHS.find((p) => p.groups.includes(kind.group) && p.kinds.includes(kind.kind))?.path;
}

function dig(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined), value);
}

/**
 * The pod specs of a Kubernetes resource (`kubernetes:<group/version>:<Kind>`): one for a workload or its Patch,
 * one an item for a List, none for other kinds. A Patch is judged as if it were the whole object for the pod spec
 * it carries: the policy cannot see the live object a server-side apply merges into.
 */
export function podSpecsOf(type: string, props: Record<string, unknown>): Located<PodSpec>[] {
  const kind = kubeKind(type);
  const path = kind && podSpecPath(kind);
  if (!kind || !path) return [];
  return objectsOf(kind, props).flatMap(({ at, value }) => {
    const spec = dig(value, path);
    return spec !== null && typeof spec === "object" ? [{ at, value: spec as PodSpec }] : [];
  });
}

/** Every container of a pod spec: init and ephemeral containers too, since each runs an image with an env. */
export function containersOf(spec: PodSpec | undefined): Container[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])].filter(
    (c): c is Container => c !== null && typeof c === "object",
  );
}

/** Every container of every pod spec a resource carries. */
export function containersOfResource(type: string, props: Record<string, unknown>): Located<Container>[] {
  return podSpecsOf(type, props).flatMap(({ at, value }) => containersOf(value).map((c) => ({ at, value: c })));
}

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export type RbacKind = "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding";
const RBAC_KINDS: RbacKind[] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

export interface RbacRule {
  verbs?: unknown[];
  resources?: unknown[];
  apiGroups?: unknown[];
  nonResourceURLs?: unknown[];
}

export interface RbacObject {
  kind: RbacKind;
  rules?: RbacRule[];
  roleRef?: { apiGroup?: string; kind?: string; name?: string };
}

/** The RBAC objects a resource carries (Role, ClusterRole and their bindings, any version, Patch or List). */
export function rbacObjectsOf(type: string, props: Record<string, unknown>): Located<RbacObject>[] {
  const kind = kubeKind(type);
  if (kind?.group !== RBAC_GROUP || !RBAC_KINDS.includes(kind.kind as RbacKind)) return [];
  return objectsOf(kind, props).map(({ at, value }) => ({ at, value: { ...(value as object), kind: kind.kind as RbacKind } }));
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
