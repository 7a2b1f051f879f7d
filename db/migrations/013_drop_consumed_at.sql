-- A work item's task (task_id, 006) is what tracks whether its work was taken up: consumed_at was never set by
-- anything, and its partial index only ever held every row.
DROP INDEX IF EXISTS webhook_work_items_unconsumed;
ALTER TABLE webhook_work_items DROP COLUMN IF EXISTS consumed_at;
