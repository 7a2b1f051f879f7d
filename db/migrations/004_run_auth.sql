-- The OAuth device-flow prompt of a run waiting for the user (verification URI, user code, expiry; never
-- the device code or a token), and when credentials arrived through POST /v1/runs/:id/auth. The worker
-- waiting on the run sees auth_received_at at its next heartbeat even when another replica took the push.
-- First shipped as 003_run_auth.sql (its number clashed with 003_webhook_deliveries.sql); IF NOT EXISTS lets a
-- database that applied it under that name apply it again harmlessly.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS auth jsonb;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS auth_received_at timestamptz;
