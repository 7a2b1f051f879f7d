import {
  type DeviceFlowConfig,
  DeviceFlowError,
  deliverCredentials,
  pollForToken,
  promptFor,
  requestDeviceAuthorization,
} from "../clients/device-flow";
import { type KubeCredentials, loadKubeCredentials } from "../clients/kube-client";
import { waitForPodReady } from "../clients/pod-health";
import { type AuthPrompt, type EmitRunEvent, type RunOutput, type RunRecord, RunStepError } from "../domain/runs";

/**
 * The steps of an onboard or update run after a successful `up`: the environment pod must become Ready,
 * then the OAuth device flow gets the repo's agents their credentials.
 *
 * They run in the queue, not inside a StackRunner, because they are not stack operations: they need the
 * run's status (waiting-for-auth) and its database row (the prompt, credentials pushed through the API to
 * any replica), which only the queue holds; and they apply whichever runner performed the `up` (the
 * scripted runner of the server tests included). The CLI, which runs the runner alone, is `pulumi up`
 * and stops after it.
 */

export interface PostUpConfig {
  /** How long the environment pod may take to be Ready (MESH_SIX_POD_READY_TIMEOUT_MS). */
  podReadyTimeoutMs: number;
  /** Credentials for the Kubernetes API, loaded when a pod is to be checked. */
  kubeCredentials?: () => KubeCredentials;
  /** The authorization server; without it the auth step is skipped. */
  deviceFlow?: DeviceFlowConfig;
  /** Where credentials go (MESH_SIX_AUTH_SERVICE_URL); required with deviceFlow. */
  authServiceUrl?: string;
  /** Milliseconds per second of the device flow's intervals and lifetimes (tests shrink time). */
  deviceFlowSecondMs?: number;
}

/** What the queue lends the steps: event recording and the run's waiting-for-auth status. */
export interface PostUpHooks {
  emit: EmitRunEvent;
  waitForAuth(prompt: AuthPrompt): Promise<void>;
  authDone(): Promise<void>;
  /** Fires when credentials for this run were pushed through the API; that ends the wait. */
  pushed: AbortSignal;
}

export function hasPostUpSteps(run: RunRecord): boolean {
  return run.kind === "onboard" || run.kind === "update";
}

export async function runPostUpSteps(
  run: RunRecord,
  outputs: Record<string, RunOutput>,
  signal: AbortSignal,
  hooks: PostUpHooks,
  cfg: PostUpConfig,
): Promise<void> {
  await podHealthStep(outputs, signal, hooks, cfg);
  await authStep(run, signal, hooks, cfg);
}

async function podHealthStep(
  outputs: Record<string, RunOutput>,
  signal: AbortSignal,
  hooks: PostUpHooks,
  cfg: PostUpConfig,
): Promise<void> {
  const namespace = outputs.namespace?.value;
  const podName = outputs.envPodName?.value;
  if (typeof namespace !== "string" || typeof podName !== "string" || !namespace || !podName) {
    await hooks.emit({ type: "step", step: "pod-health", skipped: "the stack has no envPodName and namespace outputs" });
    return;
  }
  await hooks.emit({ type: "step", step: "pod-health" });
  try {
    const kube = (cfg.kubeCredentials ?? (() => loadKubeCredentials()))();
    const statefulSet = outputs.envStatefulSet?.value;
    await waitForPodReady({
      namespace,
      podName,
      statefulSetName: typeof statefulSet === "string" && statefulSet ? statefulSet : undefined,
      timeoutMs: cfg.podReadyTimeoutMs,
      signal,
      kube,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new RunStepError("pod-health", (err as Error).message);
  }
  await hooks.emit({ type: "log", message: `pod ${namespace}/${podName} is Ready` });
}

async function authStep(run: RunRecord, signal: AbortSignal, hooks: PostUpHooks, cfg: PostUpConfig): Promise<void> {
  const skip = (reason: string) => hooks.emit({ type: "step", step: "auth", skipped: reason });
  if (run.options.skipAuth) return skip("the request set skipAuth");
  if (!cfg.deviceFlow)
    return skip(
      "no OAuth authorization server is configured (MESH_SIX_OAUTH_DEVICE_AUTHORIZATION_URL, MESH_SIX_OAUTH_TOKEN_URL, MESH_SIX_OAUTH_CLIENT_ID)",
    );
  const projectId = run.request.authProjectId;
  if (!projectId) return skip("the repo has no authProjectId to hand credentials to");
  if (!cfg.authServiceUrl) throw new RunStepError("auth", "no auth service is configured (MESH_SIX_AUTH_SERVICE_URL)");
  await hooks.emit({ type: "step", step: "auth" });
  const secondMs = cfg.deviceFlowSecondMs ?? 1000;
  // Either the cancel/lease signal or a push ends the polling; only the first is an abort of the run.
  const polling = AbortSignal.any([signal, hooks.pushed]);
  try {
    const device = await requestDeviceAuthorization(cfg.deviceFlow, signal);
    await hooks.waitForAuth(promptFor(device));
    let token;
    try {
      token = await pollForToken(cfg.deviceFlow, device, { signal: polling, secondMs });
    } catch (err) {
      if (hooks.pushed.aborted && !signal.aborted) {
        await hooks.emit({ type: "log", message: "credentials were pushed through the API; the device flow is no longer needed" });
        await hooks.authDone();
        return;
      }
      throw err;
    }
    await deliverCredentials(cfg.authServiceUrl, projectId, token, signal);
    await hooks.authDone();
    await hooks.emit({ type: "log", message: `credentials delivered to the auth service for project ${projectId}` });
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof RunStepError) throw err;
    throw new RunStepError("auth", err instanceof DeviceFlowError ? err.message : `device flow failed: ${(err as Error).message}`);
  }
}
