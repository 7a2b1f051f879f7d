import type { RunOptions } from "../domain/runs";
import type { RepoStackInput } from "../domain/repo-config";
import type { OnboardingDefaults } from "./config";
import { validate } from "./requests";
import { onboardingRequest } from "./schemas";

export { loadOnboardingDefaults, type OnboardingDefaults } from "./config";

/**
 * A repo's stack input from an onboarding request, for POST /v1/onboardings and `npm run onboard` alike: two
 * builders would sooner or later disagree, and the CLI's preview would propose to undo what the server applied.
 * Throws RequestValidationError naming the fields.
 */
export function buildOnboardingRequest(
  body: unknown,
  defaults: OnboardingDefaults,
): { parsed: ReturnType<typeof onboardingRequest.parse>; request: RepoStackInput; options: RunOptions } {
  const parsed = validate(onboardingRequest, body);
  // Stored as the client wrote it: a field left out keeps following the stack's default.
  const { skipAuth: _skipAuth, force: _force, skipStorage, storage: storageChoice, ...given } = body as Record<string, unknown>;
  // The bucket is the server's; the request only says whether to have a prefix and whether to keep its objects.
  const storage =
    defaults.storageBucket && skipStorage !== true
      ? { bucket: defaults.storageBucket, ...(storageChoice as object | undefined) }
      : undefined;
  // The server's own namespace (MESH_SIX_NAMESPACE) is the only one its Role covers: repos go there unless told.
  const request = {
    ...given,
    serverUrl: defaults.publicUrl,
    ...(defaults.namespace && given.namespace === undefined ? { namespace: defaults.namespace } : {}),
    ...(storage ? { storage } : {}),
  } as RepoStackInput;
  const options = {
    ...(parsed.skipAuth === undefined ? {} : { skipAuth: parsed.skipAuth }),
    ...(parsed.force === undefined ? {} : { force: parsed.force }),
  };
  return { parsed, request, options };
}
