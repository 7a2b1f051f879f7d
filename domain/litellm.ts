/**
 * Whether a repo stack gets a LiteLLM team and key. The stack program and the runner's run events both ask this,
 * so what a run says it skipped is what the stack left out.
 */

/** Why the repo gets no LiteLLM team, or undefined when it gets one. */
export function liteLLMSkipReason(request: { skipLiteLLM?: boolean }, env: NodeJS.ProcessEnv): string | undefined {
  if (request.skipLiteLLM === true) return "the request set skipLiteLLM";
  if (!env.LITELLM_API_BASE) return "no LiteLLM proxy is configured (LITELLM_API_BASE)";
  return undefined;
}
