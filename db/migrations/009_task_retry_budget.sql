-- A FAILED task moved back to INTAKE is delivered again with a fresh retry budget. `attempts` still counts every
-- attempt the task ever had (their numbers stay unique in task_attempts); `budget_start` is how many of them came
-- before the current budget began.
ALTER TABLE tasks ADD COLUMN budget_start integer NOT NULL DEFAULT 0;
