import type { Request, Response } from "express";
import { deliverCredentials } from "../../clients/device-flow";
import { getRun, listEvents, markAuthReceived, queuePosition } from "../../runs/run-store";
import { isTerminal } from "../../domain/runs";
import { type AppContext, toRunView } from "../context";
import { AuthServiceError, RequestValidationError, RunFinishedError, RunNotFoundError, RunNotWaitingForAuthError } from "../errors";
import { validate } from "../requests";
import type { RouteSpec } from "../route-table";
import { authPushAnswer, authPushRequest, cancelAnswer, runEventBody, runView } from "../schemas";
import { openEventStream } from "../sse";

const BATCH = 500;

function lastEventId(req: Request): number {
  const raw = req.get("last-event-id") ?? (typeof req.query.lastEventId === "string" ? req.query.lastEventId : undefined);
  if (raw === undefined || raw === "") return 0;
  if (!/^\d{1,9}$/.test(raw))
    throw new RequestValidationError([{ field: "Last-Event-ID", message: "expected an event id (a non-negative integer)" }]);
  return Number(raw);
}

export function runRoutes(ctx: AppContext): RouteSpec[] {
  /**
   * Replays the run's events after Last-Event-ID, then follows it until it is terminal. Wakes on the
   * in-process bus for runs executed here and polls for runs executed by another worker.
   */
  async function streamEvents(req: Request, res: Response): Promise<void> {
    const id = String(req.params.id);
    const run = await getRun(ctx.pool, id);
    if (!run) throw new RunNotFoundError(id);
    let last = lastEventId(req);
    if (isTerminal(run.status) && (await listEvents(ctx.pool, id, last, 1)).length === 0) {
      res.status(204).end(); // nothing more will ever come: EventSource stops reconnecting on 204
      return;
    }
    const stream = openEventStream(req, res);
    let dirty = true;
    let wake: (() => void) | undefined;
    const unsubscribe = ctx.queue.bus.subscribe(id, () => {
      dirty = true;
      wake?.();
    });
    void stream.gone.then(() => wake?.());
    try {
      while (!stream.closed) {
        dirty = false;
        // Status first: the terminal status event is written with the status, so reading events after
        // seeing a terminal status is sure to include the last one.
        const current = await getRun(ctx.pool, id);
        const events = await listEvents(ctx.pool, id, last, BATCH);
        for (const e of events) {
          stream.send({
            id: e.seq,
            event: e.type,
            data: JSON.stringify({ seq: e.seq, type: e.type, data: e.data, at: e.createdAt.toISOString() }),
          });
          last = e.seq;
        }
        if (events.length === BATCH) continue;
        if (!current || isTerminal(current.status)) break;
        if (dirty) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, ctx.config.pollMs);
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
      }
    } catch (err) {
      ctx.log.child({ runId: id }).warn(`event stream: ${(err as Error).message}`);
    } finally {
      unsubscribe();
      stream.end();
    }
  }

  /**
   * Credentials obtained some other way end a run's device-flow wait: they go straight to the auth service
   * (never into the database), then the run is marked; its worker, here or on another replica, sees the
   * mark and finishes the run.
   */
  async function pushAuth(req: Request, res: Response): Promise<void> {
    const id = String(req.params.id);
    // The body first, as every other route: what the client sent is wrong whichever run it names.
    const token = validate(authPushRequest, req.body ?? {});
    const run = await getRun(ctx.pool, id);
    if (!run) throw new RunNotFoundError(id);
    if (run.status !== "waiting-for-auth") throw new RunNotWaitingForAuthError(id, run.status);
    const projectId = run.request.authProjectId;
    if (!ctx.config.authServiceUrl || !projectId) throw new RunNotWaitingForAuthError(id, run.status);
    try {
      await deliverCredentials(ctx.config.authServiceUrl, projectId, token);
    } catch (err) {
      throw new AuthServiceError((err as Error).message);
    }
    const marked = await markAuthReceived(ctx.pool, id);
    if (!marked) {
      const now = await getRun(ctx.pool, id);
      if (!now) throw new RunNotFoundError(id);
      throw new RunNotWaitingForAuthError(id, now.status);
    }
    ctx.queue.authReceived(id);
    ctx.queue.bus.notify(id);
    res.status(202).json({ runId: id, status: marked.status, authReceived: true });
  }

  return [
    {
      method: "get",
      path: "/v1/runs/:id",
      operationId: "getRun",
      summary: "A run: status, step, times, change summary, outputs (secrets redacted), failure",
      tag: "runs",
      role: "viewer",
      responses: { 200: { description: "The run", schema: runView } },
      errors: ["run_not_found"],
      async handler(req, res) {
        const id = String(req.params.id);
        const run = await getRun(ctx.pool, id);
        if (!run) throw new RunNotFoundError(id);
        res.json(toRunView(run, await queuePosition(ctx.pool, run)));
      },
    },
    {
      method: "get",
      path: "/v1/runs/:id/events",
      operationId: "streamRunEvents",
      summary: "The run's events as Server-Sent Events (id = seq; resumes after Last-Event-ID; ends when the run is terminal)",
      tag: "runs",
      role: "viewer",
      headers: [{ name: "Last-Event-ID", description: "Replay only events after this seq" }],
      responses: {
        200: { description: "An event stream; each event's data is a RunEvent", schema: runEventBody, contentType: "text/event-stream" },
        204: { description: "The run is finished and has no events after Last-Event-ID" },
      },
      // invalid_request: a Last-Event-ID that is not an event id.
      errors: ["run_not_found", "invalid_request"],
      handler: streamEvents,
    },
    {
      method: "post",
      path: "/v1/runs/:id/auth",
      operationId: "pushRunAuth",
      summary: "Hand over credentials for a run waiting for the OAuth device flow; they go to the auth service and end the wait",
      tag: "runs",
      role: "operator",
      body: authPushRequest,
      responses: {
        202: { description: "Credentials delivered; the run finishes", schema: authPushAnswer },
      },
      errors: ["run_not_found", "run_not_waiting_for_auth", "auth_service_failed"],
      handler: pushAuth,
    },
    {
      method: "post",
      path: "/v1/runs/:id/cancel",
      operationId: "cancelRun",
      summary: "Cancel a run: a queued one at once, a running one through its abort signal",
      tag: "runs",
      role: "operator",
      responses: {
        200: { description: "The queued run is cancelled", schema: cancelAnswer },
        202: { description: "Cancellation requested; the run stops at its next safe point", schema: cancelAnswer },
      },
      errors: ["run_not_found", "run_finished"],
      async handler(req, res) {
        const id = String(req.params.id);
        const result = await ctx.queue.cancel(id);
        switch (result.outcome) {
          case "not_found":
            throw new RunNotFoundError(id);
          case "finished":
            throw new RunFinishedError(id, result.run.status);
          case "cancelled":
            res.status(200).json({ runId: id, status: result.run.status, cancelRequested: true });
            return;
          case "requested":
            res.status(202).json({ runId: id, status: result.run.status, cancelRequested: true });
            return;
        }
      },
    },
  ];
}
