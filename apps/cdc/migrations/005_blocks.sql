-- Blocks: blocker_id no longer wants to see or be suggested blocked_id (nor the other way round in suggestions).
-- The app ends follows in both directions when it writes a block; Pulse's people-you-may-know leaves blocked
-- pairs out both ways, in the batch job and when serving.
CREATE TABLE blocks (
  blocker_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  blocked_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (blocker_id, blocked_id),
  CHECK (blocker_id <> blocked_id)
);

-- "Who blocked X" without scanning the primary key.
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);
