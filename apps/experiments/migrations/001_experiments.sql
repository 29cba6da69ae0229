-- The experiments of the recommender (pulse.experiments.v1.Experiment), one row each.
CREATE TABLE experiments (
  id                 text PRIMARY KEY,
  name               text NOT NULL,
  description        text NOT NULL DEFAULT '',
  layer              text NOT NULL,
  traffic_percent    double precision NOT NULL CHECK (traffic_percent > 0 AND traffic_percent <= 100),
  salt               text NOT NULL,
  -- [{name, weight, control, modelVersion | strategy, description}], in the caller's order
  variants           jsonb NOT NULL,
  primary_metric     text NOT NULL,
  guardrail_metrics  text[] NOT NULL DEFAULT '{}',
  -- {alpha, sequential, sequentialTuning, cupedDisabled, cupedLookbackDays}, defaults filled in
  analysis           jsonb NOT NULL,
  status             text NOT NULL CHECK (status IN ('DRAFT', 'RUNNING', 'STOPPED')),
  -- Where the range was pinned at creation; NULL: the first free range at start.
  placement_start    integer CHECK (placement_start BETWEEN 0 AND 9999),
  -- The layer buckets [bucket_start, bucket_end) owned since the start.
  bucket_start       integer,
  bucket_end         integer,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  stopped_at         timestamptz,
  stop_reason        text NOT NULL DEFAULT '',
  CHECK ((bucket_start IS NULL) = (bucket_end IS NULL)),
  CHECK (status = 'DRAFT' OR bucket_start IS NOT NULL)
);

-- What the recommender polls (RUNNING) and the overlap check (RUNNING of one layer) read.
CREATE INDEX experiments_status_layer ON experiments (status, layer);
