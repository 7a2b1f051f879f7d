-- A run's times come from the statement that recorded them, not from its transaction's start: a worker's claim
-- transaction may begin (and wait for the claim lock) before the stack's previous run has finished, so now() there
-- dated the next run's start before the previous one's end although it only saw the stack free after that commit.
ALTER TABLE run_events ALTER COLUMN created_at SET DEFAULT statement_timestamp();
