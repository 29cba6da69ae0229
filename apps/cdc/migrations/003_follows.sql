-- The follow graph: one row per (follower, followee) edge.
CREATE TABLE follows (
  follower_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  followee_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  muted       boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (follower_id, followee_id),
  CHECK (follower_id <> followee_id)
);

-- "Who follows X" without scanning the primary key.
CREATE INDEX follows_followee_idx ON follows (followee_id, follower_id);
