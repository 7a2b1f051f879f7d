-- The history lists (GET /v1/runs, /v1/tasks, /v1/deliveries, /v1/audit and their per-repo forms) page newest
-- first by (time, id) with a keyset cursor (db/page.ts): each shape below is an index scanned backwards from
-- the cursor, so a page costs its own rows however long the history grows. Filters the lists take besides the
-- repo (kind, status, capability, event…) are checked on the rows the scan meets.
CREATE INDEX runs_by_time ON runs (created_at, id);
CREATE INDEX runs_by_stack_time ON runs (stack_name, created_at, id);
-- A repo's lifecycle state (domain/repo-state.ts) reads its newest onboard, update and destroy runs.
CREATE INDEX runs_lifecycle ON runs (stack_name, seq) WHERE kind IN ('onboard', 'update', 'destroy');

CREATE INDEX tasks_by_time ON tasks (created_at, id);
-- GitHub names are compared without regard to case, as everywhere else.
CREATE INDEX tasks_by_repo_time ON tasks (lower(owner), lower(repo), created_at, id);

CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (received_at, delivery_id);
CREATE INDEX webhook_deliveries_by_repo_time ON webhook_deliveries (lower(owner), lower(repo), received_at, delivery_id);

-- The audit trail pages the same way now: (at, id) replaces id alone as its order.
DROP INDEX IF EXISTS audit_log_by_actor;
DROP INDEX IF EXISTS audit_log_by_route;
DROP INDEX IF EXISTS audit_log_by_time;
CREATE INDEX audit_log_by_time ON audit_log (at, id);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, at, id);
CREATE INDEX audit_log_by_actor_name ON audit_log (actor_name, at, id);
CREATE INDEX audit_log_by_route ON audit_log (route, at, id);
