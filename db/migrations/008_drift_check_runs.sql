-- Drift checks are runs too (a refresh in preview-only mode, queued per stack like any other run), so that they never
-- overlap an update of the same stack; their verdict lands in repo_registry.drift_status / drift_checked_at.
ALTER TABLE runs DROP CONSTRAINT IF EXISTS runs_kind_check;
ALTER TABLE runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('onboard', 'update', 'preview', 'refresh', 'destroy', 'drift-check'));
