import type { Request } from "express";
import { mergeSettings } from "../../lib/merge-settings";
import { lastAppliedRequest, latestRunsByStack, lifecycleRuns, queuePosition } from "../../runs/run-store";
import { isCurrent, type RepoFacts, type RepoState, repoState } from "../../domain/repo-state";
import type { RunKind, RunRecord, RunRequest } from "../../domain/runs";
import { type RepoRef, repoRefOf, stackNameFor } from "../../domain/names";
import { parseRepoStackConfig, type RepoStackInput } from "../../domain/repo-config";
import { findKnownRepo, type KnownRepo, listKnownRepos } from "../../db/registry";
import { setAuditTarget } from "../audit";
import { type AppContext, runLocation, submitRun, toRunView } from "../context";
import { RepoNotFoundError } from "../errors";
import { buildOnboardingRequest } from "../onboarding-request";
import { idempotencyOf, validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { previewRequest, repoList, repoListQuery, repoView } from "../schemas";
import { ACCEPTED_RESPONSES, IDEMPOTENCY_ERRORS, IDEMPOTENCY_HEADER } from "./onboardings";

export function repoRef(req: Request): RepoRef {
  return repoRefOf(String(req.params.owner), String(req.params.repo));
}

/** The repo, known here (registered, or with an onboard, update or destroy run); else a 404. */
export async function mustKnow(ctx: AppContext, ref: RepoRef): Promise<KnownRepo> {
  const known = await findKnownRepo(ctx.pool, stackNameFor(ref));
  if (!known) throw new RepoNotFoundError(`${ref.owner}/${ref.repo}`);
  return known;
}

/** What the registry row tells of the lifecycle state (to_jsonb wrote its times as text). */
function registryFacts(registry: Record<string, unknown> | null): RepoFacts["registry"] {
  if (!registry) return undefined;
  return {
    updatedAt: new Date(String(registry.updatedAt)),
    driftStatus: String(registry.driftStatus),
    driftCheckedAt: registry.driftCheckedAt ? new Date(String(registry.driftCheckedAt)) : null,
  };
}

export function repoRoutes(ctx: AppContext): RouteSpec[] {
  /** The repos' views, each with its lifecycle state and last run. */
  async function views(known: KnownRepo[]) {
    const stacks = known.map((k) => k.stackName);
    const [last, lifecycle] = await Promise.all([latestRunsByStack(ctx.pool, stacks), lifecycleRuns(ctx.pool, stacks)]);
    return Promise.all(
      known.map((k) => view(k, repoState({ ...lifecycle.get(k.stackName), registry: registryFacts(k.registry) }), last.get(k.stackName))),
    );
  }

  async function view(known: KnownRepo, state: RepoState, lastRun: RunRecord | undefined) {
    const position = lastRun ? await queuePosition(ctx.pool, lastRun) : null;
    return {
      owner: known.owner,
      repo: known.repo,
      fullName: `${known.owner}/${known.repo}`,
      stackName: known.stackName,
      state,
      registry: known.registry,
      lastRun: lastRun ? toRunView(lastRun, position) : null,
    };
  }

  /** Queues a run of `kind` for the repo and answers 202 with it (200 for an idempotent repeat). */
  function stackRun(
    kind: RunKind,
    build: (req: Request, ref: RepoRef) => Promise<{ request: RunRequest; payload: unknown }>,
  ): RouteSpec["handler"] {
    return async (req, res) => {
      const ref = repoRef(req);
      const { request, payload } = await build(req, ref);
      const idempotency = idempotencyOf(req, `${req.method} /v1/repos/${ref.owner}/${ref.repo}/${kind}`, payload);
      const { run, created, position } = await submitRun(ctx, {
        kind,
        owner: ref.owner,
        repo: ref.repo,
        stackName: stackNameFor(ref),
        request,
        idempotency,
      });
      setAuditTarget(res, `${run.owner}/${run.repo} run ${run.id}`);
      res
        .status(created ? 202 : 200)
        .location(runLocation(run))
        .json({ runId: run.id, kind: run.kind, status: run.status, position });
    };
  }

  // Refresh, drift checks and destroy act on the stack as last applied; its request is kept with the run for the record.
  const asApplied = async (_req: Request, ref: RepoRef) => {
    await mustKnow(ctx, ref);
    const applied = await lastAppliedRequest(ctx.pool, stackNameFor(ref));
    return { request: applied ?? { owner: ref.owner, repo: ref.repo }, payload: {} };
  };

  // invalid_request: an owner or repo that is not a GitHub name.
  const repoErrors = ["invalid_request", "repo_not_found"] as const;

  return [
    {
      method: "get",
      path: "/v1/repos",
      operationId: "listRepos",
      summary: "Repositories known here (registered, or with lifecycle runs) with their lifecycle state; offboarded ones on request",
      tag: "repos",
      role: "viewer",
      query: [
        {
          name: "state",
          description: "`current` (the default: every state but offboarded), `all`, or one state (`offboarded` for the repos gone)",
        },
      ],
      responses: { 200: { description: "The repositories", schema: repoList } },
      errors: ["invalid_request"],
      async handler(req, res) {
        const { state } = validate(repoListQuery, req.query);
        const repos = await views(await listKnownRepos(ctx.pool));
        const wanted = (s: RepoState) => (state === "all" ? true : state === "current" ? isCurrent(s) : s === state);
        res.json({ repos: repos.filter((r) => wanted(r.state)) });
      },
    },
    {
      method: "get",
      path: "/v1/repos/:owner/:repo",
      operationId: "getRepo",
      summary: "A repository's lifecycle state, registry row and last run (an offboarded one's too)",
      tag: "repos",
      role: "viewer",
      responses: { 200: { description: "The repository", schema: repoView } },
      errors: [...repoErrors],
      async handler(req, res) {
        const [one] = await views([await mustKnow(ctx, repoRef(req))]);
        res.json(one);
      },
    },
    {
      method: "post",
      path: "/v1/repos/:owner/:repo/preview",
      operationId: "previewRepo",
      summary: "Preview a change: the applied settings with the body's changes (a new repo: what onboarding would do)",
      tag: "repos",
      role: "operator",
      headers: [IDEMPOTENCY_HEADER],
      body: previewRequest,
      bodyOptional: true,
      responses: ACCEPTED_RESPONSES,
      errors: IDEMPOTENCY_ERRORS,
      handler: stackRun("preview", async (req, ref) => {
        const changes: unknown = req.body ?? {};
        validate(previewRequest, changes);
        // A repo not onboarded yet: what an onboarding of it would apply.
        const applied = (await lastAppliedRequest(ctx.pool, stackNameFor(ref))) ?? buildOnboardingRequest(ref, ctx.config).request;
        const request = { ...mergeSettings(applied, changes as object), owner: ref.owner, repo: ref.repo } as RepoStackInput;
        parseRepoStackConfig(request); // the merged settings must make a valid stack, too
        return { request, payload: changes };
      }),
    },
    {
      method: "post",
      path: "/v1/repos/:owner/:repo/refresh",
      operationId: "refreshRepo",
      summary: "Refresh the stack's state from the real resources (detects drift)",
      tag: "repos",
      role: "operator",
      headers: [IDEMPOTENCY_HEADER],
      responses: ACCEPTED_RESPONSES,
      errors: [...repoErrors, ...IDEMPOTENCY_ERRORS],
      handler: stackRun("refresh", asApplied),
    },
    {
      method: "post",
      path: "/v1/repos/:owner/:repo/drift-check",
      operationId: "checkRepoDrift",
      summary: "Check for drift now: a preview-only refresh whose verdict lands in the registry (driftStatus); the schedule runs it too",
      tag: "repos",
      role: "operator",
      headers: [IDEMPOTENCY_HEADER],
      responses: ACCEPTED_RESPONSES,
      errors: [...repoErrors, ...IDEMPOTENCY_ERRORS],
      handler: stackRun("drift-check", asApplied),
    },
    {
      method: "delete",
      path: "/v1/repos/:owner/:repo",
      operationId: "offboardRepo",
      summary: "Offboard: destroy the stack's resources, then remove the stack (registry row and secret go with them)",
      tag: "repos",
      role: "admin",
      headers: [IDEMPOTENCY_HEADER],
      responses: ACCEPTED_RESPONSES,
      errors: [...repoErrors, ...IDEMPOTENCY_ERRORS],
      handler: stackRun("destroy", asApplied),
    },
  ];
}
