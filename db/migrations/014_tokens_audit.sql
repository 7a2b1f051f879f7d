-- API tokens with a role, and the audit trail of every mutating request. A token is kept only as the SHA-256
-- of its text: the text is shown once, when it is created, and cannot be read back from here.
CREATE TABLE api_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  -- server/roles.ts ROLES
  role        text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'agent')),
  -- An agent token acts for this agent only; every other role acts for no agent.
  agent_id    uuid REFERENCES agents (id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text,                                 -- the actor id of the admin who created it
  revoked_at  timestamptz,
  CHECK ((role = 'agent') = (agent_id IS NOT NULL))
);

-- Who did what, when, with what outcome. Never a body: request bodies carry tokens (a token being created
-- is answered, not sent, but the auth push carries OAuth credentials).
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,                -- the cursor: newest first is id DESC
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    text NOT NULL,                        -- a token's id, or `config:<n>` for the n-th configured token
  actor_name  text NOT NULL,
  actor_role  text NOT NULL,
  method      text NOT NULL,
  route       text,                                 -- the route pattern (/v1/runs/:id/cancel); NULL when none matched
  target      text,                                 -- owner/repo, a run's, task's, agent's or token's id
  status      integer NOT NULL
);

CREATE INDEX audit_log_by_actor ON audit_log (actor_id, id DESC);
CREATE INDEX audit_log_by_route ON audit_log (route, id DESC);
CREATE INDEX audit_log_by_time ON audit_log (at);
