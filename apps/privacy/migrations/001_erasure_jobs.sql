-- Erasure jobs: one per erased user, found again by the subject hash (so a second request returns the same job).
-- subject_id is the only personal datum: kept while the job runs (a restarted worker needs it), cleared when it completes.
CREATE TABLE erasure_jobs (
  job_id          uuid PRIMARY KEY,
  subject_hash    text NOT NULL UNIQUE,
  subject_id      text,
  basis           text NOT NULL,
  state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'RUNNING', 'COMPLETED')),
  requested_at    timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  -- When every store had been erased once (the end of pass 1).
  erased_at       timestamptz,
  -- 1: the first erasure of every store; 2 and up: verification passes.
  pass            integer NOT NULL DEFAULT 1,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text NOT NULL DEFAULT '',
  CHECK (state <> 'COMPLETED' OR subject_id IS NULL)
);

CREATE INDEX erasure_jobs_runnable_idx ON erasure_jobs (next_attempt_at) WHERE state <> 'COMPLETED';
CREATE INDEX erasure_jobs_requested_idx ON erasure_jobs (requested_at DESC, job_id);

-- The progress of a job in each store. erased: what was found and removed, summed over passes; found_on_verify: what
-- the last verification pass found; memo: what a store's eraser keeps between passes (the lake's tables with deletes).
CREATE TABLE erasure_steps (
  job_id          uuid NOT NULL REFERENCES erasure_jobs (job_id),
  store           text NOT NULL,
  position        integer NOT NULL,
  state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'ERASED', 'VERIFIED')),
  pass            integer NOT NULL DEFAULT 0,
  erased          jsonb NOT NULL DEFAULT '{}',
  found_on_verify jsonb NOT NULL DEFAULT '{}',
  memo            jsonb NOT NULL DEFAULT '{}',
  started_at      timestamptz,
  finished_at     timestamptz,
  -- Time spent erasing in this store, summed over passes.
  busy_ms         bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, store)
);

-- The audit log: append-only, no personal data (job, subject hash, store, what happened, when).
CREATE TABLE erasure_audit (
  id           bigserial PRIMARY KEY,
  job_id       uuid NOT NULL,
  subject_hash text NOT NULL,
  event        text NOT NULL,
  store        text NOT NULL DEFAULT '',
  detail       jsonb NOT NULL DEFAULT '{}',
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_audit_job_idx ON erasure_audit (job_id, id);
