-- Replicas wake each other on new work instead of waiting for their next poll: a run stored, or one that ended
-- (freeing its stack and a concurrency slot), and a task stored or due again. NOTIFY is sent on commit, so a
-- woken worker always finds the row.
CREATE FUNCTION notify_runs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mesh_six_runs', NEW.stack_name);
  RETURN NULL;
END $$;

CREATE TRIGGER runs_notify_insert AFTER INSERT ON runs FOR EACH ROW EXECUTE FUNCTION notify_runs_changed();
CREATE TRIGGER runs_notify_status AFTER UPDATE OF status ON runs
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION notify_runs_changed();

CREATE FUNCTION notify_tasks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mesh_six_tasks', '');
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_notify_insert AFTER INSERT ON tasks FOR EACH STATEMENT EXECUTE FUNCTION notify_tasks_changed();
