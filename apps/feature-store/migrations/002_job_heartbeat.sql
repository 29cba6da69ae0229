-- The replica running a job touches heartbeat_at while it runs; a PENDING or RUNNING job whose heartbeat is
-- older than FEATURE_STORE_JOB_STALE is reported FAILED (its replica stopped).
ALTER TABLE jobs ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now();
