/**
 * Whether a repo stack sets its keys in the auth project's agent settings. The stack program and the runner's run
 * events both ask this, so what a run says it skipped is what the stack left out.
 */

/** Why the repo's settings are not applied although the request has some; undefined when they are (or there are none). */
export function agentSettingsSkipReason(request: { settings?: unknown }, env: NodeJS.ProcessEnv): string | undefined {
  if (request.settings === undefined) return undefined;
  if (!env.MESH_SIX_AUTH_SERVICE_URL) return "no auth service is configured (MESH_SIX_AUTH_SERVICE_URL)";
  return undefined;
}
