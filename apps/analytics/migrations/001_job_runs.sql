-- Runs of the batch jobs: one row per run, with the Delta table versions it read and wrote, its progress and,
-- when it failed, why. A replica executing a run refreshes heartbeat_at; a run whose replica went silent is
-- failed as INTERRUPTED by any replica.
CREATE TABLE job_runs (
  run_id          uuid        PRIMARY KEY,
  job             text        NOT NULL,
  state           text        NOT NULL CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED')),
  trigger         text        NOT NULL CHECK (trigger IN ('MANUAL', 'SCHEDULE')),
  retry_of        uuid        REFERENCES job_runs (run_id),
  parameters      jsonb       NOT NULL DEFAULT '{}',
  scheduled_for   timestamptz,
  requested_at    timestamptz NOT NULL,
  started_at      timestamptz,
  finished_at     timestamptz,
  heartbeat_at    timestamptz NOT NULL,
  progress        jsonb,
  inputs          jsonb       NOT NULL DEFAULT '[]',
  outputs         jsonb       NOT NULL DEFAULT '[]',
  output_rows     bigint      NOT NULL DEFAULT 0,
  exported_rows   bigint      NOT NULL DEFAULT 0,
  failure_kind    text,
  failure_message text,
  replica         text        NOT NULL
);

-- A job never has two active runs, whichever replicas started them (the insert of the second one fails).
CREATE UNIQUE INDEX job_runs_one_active ON job_runs (job) WHERE state IN ('PENDING', 'RUNNING');
-- A schedule time starts one run, whichever replica fires it first.
CREATE UNIQUE INDEX job_runs_once_per_schedule ON job_runs (job, scheduled_for) WHERE scheduled_for IS NOT NULL;
-- History, newest first: all jobs, and per job.
CREATE INDEX job_runs_recent ON job_runs (requested_at DESC, run_id DESC);
CREATE INDEX job_runs_by_job ON job_runs (job, requested_at DESC, run_id DESC);
