import { type KubeCredentials, kubeGet } from "./kube-client";
import { abortableSleep } from "../lib/abort";

/**
 * Waits for the repo's environment pod to be Ready, through the Kubernetes API (the old system shelled out
 * to kubectl). Polling with backoff rather than a watch: one GET per few seconds on one pod is cheap, and
 * there is no watch connection to re-establish after the API server closes it or the resourceVersion
 * goes stale.
 */

export interface WaitForPodReadyOptions {
  namespace: string;
  podName: string;
  /**
   * The StatefulSet that makes the pod. Without it no pod will ever come: its absence fails the wait at once,
   * and a pod missing while it exists is waited for `missingPodTimeoutMs` only.
   */
  statefulSetName?: string;
  missingPodTimeoutMs?: number;
  timeoutMs: number;
  signal?: AbortSignal;
  kube: KubeCredentials;
  /** First and longest pause between GETs (default 250 ms growing to 3 s). */
  minPollMs?: number;
  maxPollMs?: number;
}

export class PodNotReadyError extends Error {
  constructor(
    readonly namespace: string,
    readonly podName: string,
    readonly state: string,
    timeoutMs: number,
  ) {
    super(`pod ${namespace}/${podName} not Ready after ${Math.round(timeoutMs / 1000)}s: ${state}`);
    this.name = "PodNotReadyError";
  }
}

/** Waiting longer cannot help: the credentials may not read the pod, or what makes the pod is gone. */
class PodWaitFutile extends Error {
  override readonly name = "PodWaitFutile";
}

/** A StatefulSet creates its pod within seconds; one missing for longer is not coming. */
export const DEFAULT_MISSING_POD_TIMEOUT_MS = 30_000;

interface PodCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface ContainerStatus {
  name?: string;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
}

export interface Pod {
  status?: {
    phase?: string;
    conditions?: PodCondition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

function conditionText(c: PodCondition): string {
  const head = `${c.type}=${c.status}`;
  const why = [c.reason, c.message].filter(Boolean).join(": ");
  return why ? `${head} ${why}` : head;
}

/**
 * Why the pod is not Ready, most telling first: not scheduled, then the Ready condition, then containers
 * stuck waiting or terminated, then the phase.
 */
export function describePodState(pod: Pod): string {
  const conditions = pod.status?.conditions ?? [];
  const parts: string[] = [];
  const scheduled = conditions.find((c) => c.type === "PodScheduled");
  if (scheduled && scheduled.status !== "True") parts.push(conditionText(scheduled));
  else {
    const ready = conditions.find((c) => c.type === "Ready" && c.status !== "True");
    const other = conditions.filter((c) => c.status !== "True");
    const chosen = ready ?? other[other.length - 1];
    if (chosen) parts.push(conditionText(chosen));
  }
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && waiting.reason !== "ContainerCreating" && waiting.reason !== "PodInitializing") {
      parts.push(`container ${cs.name} waiting: ${[waiting.reason, waiting.message].filter(Boolean).join(": ")}`);
    }
    const terminated = cs.state?.terminated;
    if (terminated && terminated.reason !== "Completed")
      parts.push(`container ${cs.name} terminated: ${terminated.reason ?? `exit ${terminated.exitCode}`}`);
  }
  if (parts.length === 0) parts.push(`phase ${pod.status?.phase ?? "unknown"}`);
  return parts.join("; ");
}

/** Resolves once the pod is Ready; rejects with PodNotReadyError naming its last state after `timeoutMs`. */
export async function waitForPodReady(opts: WaitForPodReadyOptions): Promise<void> {
  const { namespace, podName, timeoutMs, signal, kube } = opts;
  const deadline = Date.now() + timeoutMs;
  const podPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}`;
  let wait = opts.minPollMs ?? 250;
  const maxWait = opts.maxPollMs ?? 3000;
  const missingFor = Math.min(timeoutMs, opts.missingPodTimeoutMs ?? DEFAULT_MISSING_POD_TIMEOUT_MS);
  let missingSince: number | undefined;
  let state = "no answer from the API server yet";
  for (;;) {
    signal?.throwIfAborted();
    try {
      const { status, body } = await kubeGet(kube, podPath, signal);
      if (status === 200) {
        missingSince = undefined;
        const pod = body as Pod;
        if (isPodReady(pod)) return;
        state = describePodState(pod);
      } else if (status === 404) {
        state = "the pod does not exist";
        if (opts.statefulSetName) {
          // Not yet created (the controller is about to), or never to be (its StatefulSet was deleted).
          const sts = `${namespace}/${opts.statefulSetName}`;
          const owner = await kubeGet(
            kube,
            `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/statefulsets/${encodeURIComponent(opts.statefulSetName)}`,
            signal,
          );
          if (owner.status === 404)
            throw new PodWaitFutile(`pod ${namespace}/${podName} cannot become Ready: its StatefulSet ${sts} does not exist`);
          missingSince ??= Date.now();
          if (Date.now() - missingSince >= missingFor) {
            throw new PodWaitFutile(
              `pod ${namespace}/${podName} does not exist ${Math.round(missingFor / 1000)}s after its StatefulSet ${sts} was found`,
            );
          }
        }
      } else if (status === 401 || status === 403) {
        throw new PodWaitFutile(`the API server refused to show pod ${namespace}/${podName} (HTTP ${status}) to ${kube.source}`);
      } else {
        state = `the API server answered HTTP ${status}`;
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof PodWaitFutile) throw err;
      state = `the API server is unreachable: ${(err as Error).message}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new PodNotReadyError(namespace, podName, state, timeoutMs);
    await abortableSleep(Math.min(wait, left), signal);
    wait = Math.min(maxWait, Math.ceil(wait * 1.5));
  }
}
