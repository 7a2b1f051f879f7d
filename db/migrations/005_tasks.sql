-- Agents that take tasks, the tasks dispatched to them, and every delivery attempt. A task is persisted
-- before it is acknowledged, delivered under a lease (so two servers never deliver one task at once), and
-- retried with its own stored payload, priority and timeout until it succeeds or its budget is spent.
CREATE TABLE agents (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name               text NOT NULL,
  endpoint           text NOT NULL,                 -- where tasks are POSTed
  capabilities       jsonb NOT NULL DEFAULT '{}',   -- capability -> weight (> 0)
  last_heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  registered_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasks (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  capability        text NOT NULL,
  owner             text NOT NULL,
  repo              text NOT NULL,
  payload           jsonb NOT NULL,
  priority          integer NOT NULL DEFAULT 0,     -- higher first
  timeout_ms        integer NOT NULL CHECK (timeout_ms > 0),
  -- domain/workflow.ts WORKFLOW_STATES
  state             text NOT NULL DEFAULT 'INTAKE' CHECK (state IN
                      ('INTAKE', 'PLANNING', 'IMPLEMENTATION', 'QA', 'REVIEW', 'ACCEPTED', 'FAILED')),
  delivery_status   text NOT NULL DEFAULT 'pending' CHECK (delivery_status IN
                      ('pending', 'delivering', 'delivered', 'succeeded', 'failed', 'exhausted')),
  attempts          integer NOT NULL DEFAULT 0,
  max_attempts      integer NOT NULL DEFAULT 4 CHECK (max_attempts > 0),
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  -- delivering: the dispatcher holding the task and until when; delivered: lease_owner is NULL and
  -- lease_expires_at is when the agent's result is due (after that the attempt timed out).
  lease_owner       text,
  lease_expires_at  timestamptz,
  result            jsonb,
  error             text,                           -- why the last attempt, or the task, failed
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tasks_due ON tasks (priority DESC, created_at) WHERE delivery_status = 'pending';
CREATE INDEX tasks_in_flight ON tasks (lease_expires_at) WHERE delivery_status IN ('delivering', 'delivered');

CREATE TABLE task_attempts (
  task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt      integer NOT NULL,
  agent_id     uuid REFERENCES agents (id) ON DELETE SET NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,                         -- NULL while in flight (counts as the agent's load)
  -- NULL while being delivered; delivered (waiting for the result), succeeded, failed (the agent's report),
  -- http_error, timeout, interrupted (its dispatcher stopped)
  outcome      text CHECK (outcome IN ('delivered', 'succeeded', 'failed', 'http_error', 'timeout', 'interrupted')),
  error        text,
  PRIMARY KEY (task_id, attempt)
);

CREATE INDEX task_attempts_by_agent ON task_attempts (agent_id, started_at DESC);
