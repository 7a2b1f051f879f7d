import { type KubeCredentials, kubeGet } from "./kube-client";
import { abortableSleep } from "./abort";

/**
 * Waits for the repo's environment pod to be Ready, through the Kubernetes API (the old system shelled out
 * to kubectl). Polling with backoff rather than a watch: one GET per few seconds on one pod is cheap, and
 * there is no watch connection to re-establish after the API server closes it or the resourceVersion
 * goes stale.
 */

export interface WaitForPodReadyOptions {
  namespace: string;
  podName: string;
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

/** Waiting longer cannot help: the credentials may not read the pod. */
class PodAccessError extends Error {
  override readonly name = "PodAccessError";
}

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
    if (terminated && terminated.reason !== "Completed") parts.push(`container ${cs.name} terminated: ${terminated.reason ?? `exit ${terminated.exitCode}`}`);
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
  let state = "no answer from the API server yet";
  for (;;) {
    signal?.throwIfAborted();
    try {
      const { status, body } = await kubeGet(kube, podPath, signal);
      if (status === 200) {
        const pod = body as Pod;
        if (isPodReady(pod)) return;
        state = describePodState(pod);
      } else if (status === 404) {
        // The StatefulSet controller may not have created it yet.
        state = "the pod does not exist";
      } else if (status === 401 || status === 403) {
        throw new PodAccessError(`the API server refused to show pod ${namespace}/${podName} (HTTP ${status}) to ${kube.source}`);
      } else {
        state = `the API server answered HTTP ${status}`;
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof PodAccessError) throw err;
      state = `the API server is unreachable: ${(err as Error).message}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new PodNotReadyError(namespace, podName, state, timeoutMs);
    await abortableSleep(Math.min(wait, left), signal);
    wait = Math.min(maxWait, Math.ceil(wait * 1.5));
  }
}
