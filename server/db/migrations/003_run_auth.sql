-- The OAuth device-flow prompt of a run waiting for the user (verification URI, user code, expiry; never
-- the device code or a token), and when credentials arrived through POST /v1/runs/:id/auth. The worker
-- waiting on the run sees auth_received_at at its next heartbeat even when another replica took the push.
ALTER TABLE runs ADD COLUMN auth jsonb;
ALTER TABLE runs ADD COLUMN auth_received_at timestamptz;
