-- Notifications (runs that succeed, fail or wait for auth; drift detected; a task exhausted; a webhook delivery
-- failed). The change being reported writes its event here in its own transaction (db/notification-outbox.ts), and
-- with it one delivery per live subscription that wants the event, so a crash can lose neither the event nor who
-- is to hear of it. The delivery worker (notify/notifier.ts) claims deliveries under a lease and retries them until
-- they land.

-- Who hears of what: a signed webhook or an ntfy topic, for one repository or (owner and repo null) every one. A
-- webhook's signing secret is in Vault (mesh-six/notifications/subscriptions/<id>), never here. Deleting a
-- subscription only marks it, so an event being written at that moment still finds the row it refers to.
CREATE TABLE notification_subscriptions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel     text NOT NULL CHECK (channel IN ('webhook', 'ntfy')),
  owner       text,
  repo        text,
  kinds       text[] NOT NULL CHECK (cardinality(kinds) > 0),
  url         text NOT NULL,                 -- the webhook's URL, or the ntfy server's base URL
  topic       text,                          -- the ntfy topic
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  CHECK ((owner IS NULL) = (repo IS NULL)),
  CHECK ((channel = 'ntfy') = (topic IS NOT NULL))
);

CREATE INDEX notification_subscriptions_live ON notification_subscriptions (owner, repo) WHERE deleted_at IS NULL;

-- The outbox: one row per event, whether or not anyone subscribed.
CREATE TABLE notification_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL,
  owner       text,
  repo        text,
  title       text NOT NULL,                 -- one line: the ntfy title
  path        text NOT NULL,                 -- the API resource it is about (/v1/runs/<id>): the receivers' link
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One per (event, subscription): its own lease, attempts and backoff, so one receiver never holds up another.
CREATE TABLE notification_deliveries (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id       uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),   -- sent as X-Mesh-Six-Delivery
  event_id          bigint NOT NULL REFERENCES notification_events (id),
  subscription_id   uuid NOT NULL REFERENCES notification_subscriptions (id),
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'cancelled')),
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  delivered_at      timestamptz,
  UNIQUE (event_id, subscription_id)
);

CREATE INDEX notification_deliveries_due ON notification_deliveries (subscription_id, next_attempt_at) WHERE status = 'pending';

-- Every attempt of a delivery: when it was sent, how it ended (the ledger of GET /v1/notifications).
CREATE TABLE notification_attempts (
  delivery  bigint NOT NULL REFERENCES notification_deliveries (id),
  attempt   integer NOT NULL,
  worker    text NOT NULL,
  sent_at   timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- not_sent: nothing could be sent (a webhook's signing secret was not to be had)
  outcome   text CHECK (outcome IN ('delivered', 'http_error', 'timeout', 'unreachable', 'not_sent', 'interrupted', 'cancelled')),
  http_status integer,
  error     text,
  PRIMARY KEY (delivery, attempt)
);

-- Other replicas' workers wake at once (db/wakeups.ts); polling stays the backstop.
CREATE FUNCTION notify_notification_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mesh_six_notifications', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER notification_deliveries_notify AFTER INSERT ON notification_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION notify_notification_deliveries();
