-- Every stack operation the server (or a worker) runs: persisted before it is acknowledged, queued FIFO per
-- stack, executed under a lease that its worker renews, and kept with its outcome.
CREATE TABLE runs (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Queue order. A run re-queued after an interruption keeps its number, so it stays ahead of later runs.
  seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  kind                 text NOT NULL CHECK (kind IN ('onboard', 'update', 'preview', 'refresh', 'destroy')),
  owner                text NOT NULL,
  repo                 text NOT NULL,
  stack_name           text NOT NULL,
  status               text NOT NULL DEFAULT 'queued' CHECK (status IN
                         ('queued', 'running', 'waiting-for-auth', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  step                 text,
  request              jsonb NOT NULL,                -- the validated stack input; never a secret
  options              jsonb NOT NULL DEFAULT '{}',   -- how to run it (e.g. skipAuth), not stack config
  idempotency_key      text,
  request_hash         text,                          -- sha256 of what the key was first used for
  lease_owner          text,
  lease_expires_at     timestamptz,
  cancel_requested_at  timestamptz,
  interruptions        integer NOT NULL DEFAULT 0,    -- leases that lapsed; one automatic retry, then failed
  event_seq            integer NOT NULL DEFAULT 0,    -- last run_events.seq handed out for this run
  started_at           timestamptz,
  finished_at          timestamptz,
  failed_step          text,
  failure_reason       text,
  change_summary       jsonb,
  outputs              jsonb,                         -- secret outputs already replaced by "[secret]"
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
);

CREATE UNIQUE INDEX runs_idempotency_key ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The database itself refuses a second active run on one stack, whatever a worker's claim query believed.
CREATE UNIQUE INDEX runs_one_active_per_stack ON runs (stack_name)
  WHERE status IN ('running', 'waiting-for-auth', 'interrupted');
CREATE INDEX runs_queued ON runs (seq) WHERE status = 'queued';
CREATE INDEX runs_by_stack ON runs (stack_name, seq);

-- What a run reported, in order, for the event stream and its replay (Last-Event-ID is the seq).
CREATE TABLE run_events (
  run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq         integer NOT NULL,
  type        text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);
