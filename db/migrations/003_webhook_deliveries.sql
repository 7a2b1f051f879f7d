-- Every GitHub webhook delivery whose signature checked out, persisted before it is acknowledged. The
-- delivery id (X-GitHub-Delivery) is the key, so a repeat delivery is recognised; GitHub's "redeliver" reuses
-- the id, and only a delivery whose processing failed is taken again.
CREATE TABLE webhook_deliveries (
  delivery_id   text PRIMARY KEY,
  owner         text NOT NULL,                 -- the URL's owner (repo route) or organization (org route)
  repo          text,                          -- NULL for organization deliveries
  event         text NOT NULL,                 -- X-GitHub-Event
  action        text,                          -- the payload's "action", when it has one
  received_at   timestamptz NOT NULL DEFAULT now(),
  status        text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
  processed_at  timestamptz,
  reason        text,                          -- why it was ignored (no configured label, author not allowed…)
  error         text,                          -- why processing failed
  payload       jsonb                          -- kept until processed, so a crash between ack and processing loses nothing
);

CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (received_at) WHERE status = 'received';

-- What deliveries asked for, for the dispatcher to turn into tasks or board moves. One row per delivery and
-- repository, so processing a delivery twice (a recovered or redelivered one) never doubles the work.
CREATE TABLE webhook_work_items (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id   text NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
  owner         text NOT NULL,
  repo          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('issue', 'issue-comment', 'pull-request', 'board-update')),
  issue_number  integer,                       -- the issue or pull request, when the event names one
  payload       jsonb NOT NULL,                -- the fields the dispatcher needs, not GitHub's whole payload
  created_at    timestamptz NOT NULL DEFAULT now(),
  consumed_at   timestamptz,                   -- set by the dispatcher
  UNIQUE (delivery_id, owner, repo)
);

CREATE INDEX webhook_work_items_unconsumed ON webhook_work_items (id) WHERE consumed_at IS NULL;
