import type { Response } from "express";
import { DEFAULT_AGENT_STALE_MS, type Dispatcher } from "../../dispatch/dispatcher";
import { memberText, stringifyWithRaw } from "../../lib/raw-json";
import {
  DEFAULT_TASK_MAX_ATTEMPTS,
  type AgentRecord,
  type AttemptRecord,
  createTasksForRegisteredRepos,
  deliveredTo,
  getTask,
  heartbeatAgent,
  listAgents,
  listAttempts,
  recordResult,
  registerAgent,
  setTaskState,
  type NewTask,
  type TaskRecord,
} from "../../dispatch/task-store";
import { canTransition } from "../../domain/workflow";
import { Batcher } from "../../lib/batcher";
import { setAuditTarget } from "../audit";
import type { AppContext } from "../context";
import { AgentNotFoundError, InvalidTransitionError, TaskNotFoundError, TaskNotInFlightError, UnknownRepositoryError } from "../errors";
import { rawBodyText } from "../raw-body";
import { validate } from "../requests";
import type { AgentScope, RouteSpec } from "../route-table";
import {
  agentList,
  agentRegistered,
  agentRegistration,
  taskAccepted,
  taskRequest,
  taskResultRequest,
  taskTransitionRequest,
  taskView,
} from "../schemas";

export function attemptOut(a: AttemptRecord) {
  return {
    attempt: a.attempt,
    agentId: a.agentId,
    agentName: a.agentName,
    startedAt: a.startedAt.toISOString(),
    finishedAt: a.finishedAt?.toISOString() ?? null,
    outcome: a.outcome,
    error: a.error,
  };
}

export function taskRoutes(ctx: AppContext, dispatcher: Dispatcher): RouteSpec[] {
  const staleMs = ctx.config.agentStaleMs ?? DEFAULT_AGENT_STALE_MS;
  // Tasks POSTed while others are being stored go in together: one INSERT (and one commit, one NOTIFY) for them all.
  const inserts = new Batcher<NewTask, string | undefined>((tasks) => createTasksForRegisteredRepos(ctx.pool, tasks));

  const agentOut = (a: AgentRecord, now: number) => ({
    id: a.id,
    name: a.name,
    endpoint: a.endpoint,
    capabilities: a.capabilities,
    githubLogin: a.githubLogin,
    lastHeartbeatAt: a.lastHeartbeatAt.toISOString(),
    registeredAt: a.registeredAt.toISOString(),
    healthy: now - a.lastHeartbeatAt.getTime() < staleMs,
  });

  async function taskOut(task: TaskRecord) {
    const attempts = await listAttempts(ctx.pool, task.id);
    return {
      id: task.id,
      capability: task.capability,
      owner: task.owner,
      repo: task.repo,
      payload: null, // written as stored, by sendTask
      priority: task.priority,
      timeoutMs: task.timeoutMs,
      state: task.state,
      deliveryStatus: task.deliveryStatus,
      maxAttempts: task.maxAttempts,
      nextAttemptAt: task.deliveryStatus === "pending" ? task.nextAttemptAt.toISOString() : null,
      attempts: attempts.map(attemptOut),
      result: task.result,
      error: task.error,
      createdAt: task.createdAt.toISOString(),
      updatedAt: task.updatedAt.toISOString(),
    };
  }

  // The payload goes out as the text it was stored as, not as a re-serialisation of its parse.
  async function sendTask(res: Response, task: TaskRecord): Promise<void> {
    res.type("application/json").send(stringifyWithRaw(await taskOut(task), { payload: task.payloadJson }));
  }

  async function taskOr404(id: string): Promise<TaskRecord> {
    const task = await getTask(ctx.pool, id);
    if (!task) throw new TaskNotFoundError(id);
    return task;
  }

  const theAgentInThePath: AgentScope = { description: "the agent in the path", agentOf: (req) => String(req.params.id) };
  const theTasksAgent: AgentScope = {
    description: "the agent the task's latest attempt was delivered to",
    agentOf: (req) => deliveredTo(ctx.pool, String(req.params.id)),
  };

  return [
    {
      method: "post",
      path: "/v1/agents",
      operationId: "registerAgent",
      summary: "Register an agent: its endpoint and its capabilities with their weights",
      tag: "tasks",
      role: "admin",
      body: agentRegistration,
      responses: { 201: { description: "Registered (its first heartbeat)", schema: agentRegistered } },
      async handler(req, res) {
        const agent = await registerAgent(ctx.pool, validate(agentRegistration, req.body ?? {}));
        setAuditTarget(res, agent.id);
        res.status(201).json({ agentId: agent.id });
      },
    },
    {
      method: "post",
      path: "/v1/agents/:id/heartbeat",
      operationId: "agentHeartbeat",
      summary: "An agent is alive; agents silent for longer than the staleness window are not given tasks",
      tag: "tasks",
      role: "admin",
      agent: theAgentInThePath,
      responses: { 204: { description: "Noted" } },
      errors: ["agent_not_found"],
      async handler(req, res) {
        const id = String(req.params.id);
        if (!(await heartbeatAgent(ctx.pool, id))) throw new AgentNotFoundError(id);
        res.status(204).end();
      },
    },
    {
      method: "get",
      path: "/v1/agents",
      operationId: "listAgents",
      summary: "Registered agents, with whether each is healthy (heartbeat within the staleness window)",
      tag: "tasks",
      role: "viewer",
      responses: { 200: { description: "The agents", schema: agentList } },
      async handler(_req, res) {
        const now = Date.now();
        res.json({ agents: (await listAgents(ctx.pool)).map((a) => agentOut(a, now)) });
      },
    },
    {
      method: "post",
      path: "/v1/tasks",
      operationId: "createTask",
      summary: "Create a task for an agent with the capability; it is stored, then delivered with the repo's authProjectId",
      tag: "tasks",
      role: "operator",
      body: taskRequest,
      responses: { 202: { description: "Stored; delivery follows", schema: taskAccepted } },
      errors: ["unknown_repository"],
      async handler(req, res) {
        const body = validate(taskRequest, req.body ?? {});
        // The body parsed as JSON, so its text holds the payload member exactly as the client wrote it.
        const payloadJson = memberText(rawBodyText(req) ?? "", "payload") ?? JSON.stringify(body.payload);
        const taskId = await inserts.submit({
          ...body,
          payloadJson,
          maxAttempts: ctx.config.taskMaxAttempts ?? DEFAULT_TASK_MAX_ATTEMPTS,
        });
        if (!taskId) throw new UnknownRepositoryError(`${body.owner}/${body.repo}`);
        dispatcher.kick();
        setAuditTarget(res, taskId);
        res.status(202).location(`/v1/tasks/${taskId}`).json({ taskId });
      },
    },
    {
      method: "get",
      path: "/v1/tasks/:id",
      operationId: "getTask",
      summary: "A task: workflow state, delivery status, every attempt (agent, outcome), result",
      tag: "tasks",
      role: "viewer",
      responses: { 200: { description: "The task", schema: taskView } },
      errors: ["task_not_found"],
      async handler(req, res) {
        await sendTask(res, await taskOr404(String(req.params.id)));
      },
    },
    {
      method: "post",
      path: "/v1/tasks/:id/transition",
      operationId: "transitionTask",
      summary:
        "Move a task along the workflow (domain/workflow.ts TRANSITIONS); FAILED → INTAKE delivers it again with a fresh retry budget",
      tag: "tasks",
      role: "operator",
      agent: theTasksAgent,
      body: taskTransitionRequest,
      responses: { 200: { description: "Moved", schema: taskView } },
      errors: ["task_not_found", "invalid_transition"],
      async handler(req, res) {
        const id = String(req.params.id);
        const { to } = validate(taskTransitionRequest, req.body ?? {});
        const task = await taskOr404(id);
        if (!canTransition(task.state, to)) throw new InvalidTransitionError(task.state, to);
        const moved = await setTaskState(ctx.pool, id, task.state, to);
        // Moved by someone else meanwhile: judge against the state it is in now.
        if (!moved) throw new InvalidTransitionError((await taskOr404(id)).state, to);
        if (moved.deliveryStatus === "pending") dispatcher.kick();
        await sendTask(res, moved);
      },
    },
    {
      method: "post",
      path: "/v1/tasks/:id/result",
      operationId: "reportTaskResult",
      summary: "The agent reports the task's outcome with its result; it stays retrievable through GET",
      tag: "tasks",
      role: "admin",
      agent: theTasksAgent,
      body: taskResultRequest,
      responses: { 200: { description: "Recorded", schema: taskView } },
      errors: ["task_not_found", "task_not_in_flight"],
      async handler(req, res) {
        const id = String(req.params.id);
        const report = validate(taskResultRequest, req.body ?? {});
        const recorded = await recordResult(ctx.pool, id, { outcome: report.outcome, result: report.result, error: report.error });
        if (!recorded) throw new TaskNotInFlightError(id, (await taskOr404(id)).deliveryStatus);
        await sendTask(res, recorded);
      },
    },
  ];
}
