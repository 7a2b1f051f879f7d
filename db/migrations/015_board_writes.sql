-- Boards kept in step with tasks. A task made from an issue remembers the issue's node id (its card's content);
-- every change of such a task's state, and its delivery to an agent, queues a board write in the same
-- transaction (the triggers below), so no code path that changes a task can forget the board and a GitHub
-- outage only delays the write. The writer takes a card's writes oldest first, one at a time.
ALTER TABLE tasks ADD COLUMN board_content_id text;

CREATE TABLE board_writes (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner             text NOT NULL,
  repo              text NOT NULL,
  content_node_id   text NOT NULL,                 -- the issue; with owner/repo, the card the write is for
  task_id           uuid REFERENCES tasks (id) ON DELETE SET NULL,
  -- what the card is to show, as it was when the task changed (domain/workflow.ts maps the state to its column)
  state             text NOT NULL,
  priority          integer NOT NULL,
  agent_name        text,                          -- Pod Name: the agent the task is with
  session_id        text,                          -- Session ID: <task id>/<attempt>
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'skipped')),
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  reason            text,                          -- why it was skipped (no board, no such column…)
  created_at        timestamptz NOT NULL DEFAULT now(),
  done_at           timestamptz
);

CREATE INDEX board_writes_pending ON board_writes (owner, repo, content_node_id, id) WHERE status = 'pending';

-- The card each issue has on its repo's board, once the writer found or added it, and the column it last wrote.
CREATE TABLE board_cards (
  project_id        text NOT NULL,
  content_node_id   text NOT NULL,
  item_node_id      text NOT NULL,
  written_column    text,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, content_node_id)
);

-- What people did on the boards: each Status change a webhook reported, and whether the task followed.
CREATE TABLE board_moves (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id       text NOT NULL,
  owner             text NOT NULL,
  repo              text NOT NULL,
  item_node_id      text NOT NULL,
  content_node_id   text,
  task_id           uuid REFERENCES tasks (id) ON DELETE SET NULL,
  sender            text,
  from_state        text,
  to_column         text,
  to_state          text,
  outcome           text NOT NULL CHECK (outcome IN ('applied', 'refused', 'own', 'unchanged', 'unknown-card')),
  reason            text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (delivery_id, owner, repo)
);

-- Queues a write of the task's card as the task is now; also called directly to put a card back after a refused move.
CREATE FUNCTION queue_board_write_for(t tasks) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  a record;
BEGIN
  SELECT x.attempt, g.name INTO a FROM task_attempts x LEFT JOIN agents g ON g.id = x.agent_id
    WHERE x.task_id = t.id ORDER BY x.attempt DESC LIMIT 1;
  INSERT INTO board_writes (owner, repo, content_node_id, task_id, state, priority, agent_name, session_id)
    VALUES (t.owner, t.repo, t.board_content_id, t.id, t.state, t.priority, a.name,
            CASE WHEN a.attempt IS NOT NULL THEN t.id || '/' || a.attempt END);
  PERFORM pg_notify('mesh_six_board_writes', '');
END $$;

CREATE FUNCTION queue_board_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM queue_board_write_for(NEW);
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_board_insert AFTER INSERT ON tasks
  FOR EACH ROW WHEN (NEW.board_content_id IS NOT NULL) EXECUTE FUNCTION queue_board_write();
CREATE TRIGGER tasks_board_update AFTER UPDATE OF state, delivery_status ON tasks
  FOR EACH ROW WHEN (NEW.board_content_id IS NOT NULL AND (OLD.state IS DISTINCT FROM NEW.state
    OR (NEW.delivery_status = 'delivered' AND OLD.delivery_status IS DISTINCT FROM 'delivered')))
  EXECUTE FUNCTION queue_board_write();
