-- A webhook's work item becomes a dispatch task in the same transaction; the item remembers which.
ALTER TABLE webhook_work_items ADD COLUMN task_id uuid REFERENCES tasks(id) ON DELETE SET NULL;
