-- One simulated world per app schema. The row is the seed marker: written in the transaction that seeds the app
-- tables, so a world is seeded once; each start of the simulator on it counts a run.
CREATE TABLE worlds (
  app_schema  text PRIMARY KEY,
  seed        bigint      NOT NULL,
  users       integer     NOT NULL,
  posts       integer     NOT NULL,
  -- Topic cluster names in the order of agents.taste.
  clusters    text[]      NOT NULL,
  runs        integer     NOT NULL DEFAULT 0,
  seeded_at   timestamptz NOT NULL DEFAULT now(),
  last_run_at timestamptz
);

-- The hidden side of each simulated user: taste over the topic clusters (drifting) and activity level.
CREATE TABLE agents (
  app_schema  text        NOT NULL REFERENCES worlds (app_schema) ON DELETE CASCADE,
  user_id     bigint      NOT NULL,
  world_index integer     NOT NULL,
  taste       real[]      NOT NULL,
  activity    real        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_schema, user_id),
  UNIQUE (app_schema, world_index)
);
