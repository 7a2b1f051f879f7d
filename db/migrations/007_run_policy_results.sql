-- What the policy packs said about a run, kept on the run record once it ends ({ packs: name -> version that ran,
-- violations: advisory and mandatory findings }), so that a run's compliance is read with the run rather than dug
-- out of its event stream.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS policy jsonb;
