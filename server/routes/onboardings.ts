import { isOnboarded } from "../../runs/run-store";
import { stackNameFor } from "../../domain/names";
import { setAuditTarget } from "../audit";
import { type AppContext, runLocation, submitRun } from "../context";
import { buildOnboardingRequest } from "../onboarding-request";
import { idempotencyOf } from "../requests";
import type { RouteSpec } from "../route-table";
import type { ErrorCode } from "../errors";
import { onboardingRequest, runAccepted } from "../schemas";

export const IDEMPOTENCY_HEADER = {
  name: "Idempotency-Key",
  description: "Sending the same key with the same request again returns the same run; with a different request, 422",
};

export const ACCEPTED_RESPONSES = {
  202: { description: "Run stored and queued", schema: runAccepted, headers: { Location: "The run: /v1/runs/{id}" } },
  200: { description: "The run this Idempotency-Key already created", schema: runAccepted, headers: { Location: "The run" } },
};

/** What a route taking an Idempotency-Key can refuse: a malformed key (invalid_request), a reused one. */
export const IDEMPOTENCY_ERRORS: ErrorCode[] = ["invalid_request", "idempotency_key_reused"];

export function onboardingRoutes(ctx: AppContext): RouteSpec[] {
  return [
    {
      method: "post",
      path: "/v1/onboardings",
      operationId: "createOnboarding",
      summary: "Onboard a repository: a run that brings its stack up (an update when it is already onboarded)",
      tag: "onboarding",
      role: "operator",
      headers: [IDEMPOTENCY_HEADER],
      body: onboardingRequest,
      responses: ACCEPTED_RESPONSES,
      errors: IDEMPOTENCY_ERRORS,
      async handler(req, res) {
        const body: unknown = req.body ?? {};
        const { parsed, request, options } = buildOnboardingRequest(body, ctx.config);
        const idempotency = idempotencyOf(req, "POST /v1/onboardings", body);
        const stackName = stackNameFor(parsed);
        const kind = (await isOnboarded(ctx.pool, stackName)) ? "update" : "onboard";
        const { run, created, position } = await submitRun(ctx, {
          kind,
          owner: parsed.owner,
          repo: parsed.repo,
          stackName,
          request,
          options,
          idempotency,
        });
        setAuditTarget(res, `${run.owner}/${run.repo} run ${run.id}`);
        res
          .status(created ? 202 : 200)
          .location(runLocation(run))
          .json({ runId: run.id, kind: run.kind, status: run.status, position });
      },
    },
  ];
}
