-- Tracked events the analytics service has handled, one row per event id (replays insert nothing).
CREATE TABLE handled_events (
  event_id    text PRIMARY KEY,
  user_id     text NOT NULL,
  type        text NOT NULL,
  occurred_at timestamptz NOT NULL,
  handled_at  timestamptz NOT NULL DEFAULT now()
);
