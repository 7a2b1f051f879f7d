-- A claim (dispatch/task-store.ts claimTasks) reads each healthy agent's load, its attempts still open, and its last
-- 50 finished attempts. With only (agent_id, started_at) to go by, the first read every attempt the agent ever had
-- and the second every open one before the finished: a cost per claim that grew with the agent's history. Each of
-- these reads its own rows.
CREATE INDEX task_attempts_open_by_agent ON task_attempts (agent_id) WHERE finished_at IS NULL;
CREATE INDEX task_attempts_finished_by_agent ON task_attempts (agent_id, started_at DESC) WHERE finished_at IS NOT NULL;
