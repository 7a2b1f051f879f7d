-- The registry every mesh-six service reads: one row per onboarded repository.
-- Written by the RepoRegistration dynamic resource (the repo stack), read by the server, webhooks and dispatch.
CREATE TABLE repo_registry (
  full_name            text PRIMARY KEY,            -- "<owner>/<repo>", as GitHub spells it
  owner                text NOT NULL,
  repo                 text NOT NULL,
  stack_name           text NOT NULL UNIQUE,        -- "<owner>.<repo>"
  display_name         text NOT NULL,
  default_branch       text NOT NULL,
  project_id           text,                        -- GitHub Projects v2 node id
  project_number       integer,
  status_field_id      text,
  status_options       jsonb NOT NULL DEFAULT '{}', -- column name -> option id
  session_field_id     text,
  pod_name_field_id    text,
  workflow_field_id    text,
  priority_field_id    text,
  priority_options     jsonb NOT NULL DEFAULT '{}',
  webhook_secret_path  text NOT NULL,               -- Vault KV v2 path of the repo's webhook secret
  webhook_id           bigint,
  auth_project_id      text,                        -- the auth service project whose credentials agents use
  env_statefulset      text NOT NULL,
  env_namespace        text NOT NULL,
  labels               jsonb NOT NULL DEFAULT '[]', -- issue labels that turn into work
  allowed_authors      jsonb NOT NULL DEFAULT '[]', -- empty: anyone
  drift_status         text NOT NULL DEFAULT 'unknown',
  drift_checked_at     timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner, repo)
);
