-- A task's payload is kept as the JSON text the client sent and delivered as that text: jsonb would reorder its
-- keys, drop repeated ones and normalise its numbers (12345678901234567890 and 1e400 are not what an agent would
-- get back from a JavaScript parse of the re-serialised value either). The CHECK keeps it JSON.
ALTER TABLE tasks ALTER COLUMN payload TYPE text USING payload::text;
ALTER TABLE tasks ADD CONSTRAINT tasks_payload_is_json CHECK (payload::json IS NOT NULL);
