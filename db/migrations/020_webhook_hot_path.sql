-- The webhook receiver keeps registry rows in memory: every replica forgets a repo's row when it changes (or all
-- rows, on TRUNCATE). NOTIFY is sent on commit, so a replica that reads again after the notification sees the change.
CREATE FUNCTION notify_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM pg_notify('mesh_six_registry', lower(OLD.owner) || '/' || lower(OLD.repo)); END IF;
  IF TG_OP <> 'DELETE' THEN PERFORM pg_notify('mesh_six_registry', lower(NEW.owner) || '/' || lower(NEW.repo)); END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER repo_registry_notify AFTER INSERT OR UPDATE OR DELETE ON repo_registry
  FOR EACH ROW EXECUTE FUNCTION notify_registry_changed();

CREATE FUNCTION notify_registry_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mesh_six_registry', '');
  RETURN NULL;
END $$;

CREATE TRIGGER repo_registry_notify_truncate AFTER TRUNCATE ON repo_registry
  FOR EACH STATEMENT EXECUTE FUNCTION notify_registry_truncated();

-- Processing after the 202 is bounded: a delivery taken by the replica that received it is claimed until this
-- time (so no other replica's sweep takes it meanwhile); one left for later (NULL) or whose claim lapsed (its
-- replica died) is claimed by whichever replica's sweep gets to it first.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until timestamptz;
