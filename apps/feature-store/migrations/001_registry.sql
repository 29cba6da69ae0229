-- Registry versions: every apply that changed something stores the whole project's definitions.
CREATE TABLE registry_versions (
  project     text        NOT NULL,
  version     bigint      NOT NULL,
  digest      text        NOT NULL,
  definitions jsonb       NOT NULL,
  -- created_at / updated_at of each object, by "<kind>/<name>".
  object_times jsonb      NOT NULL,
  changes     jsonb       NOT NULL,
  forced      boolean     NOT NULL DEFAULT false,
  applied_by  text        NOT NULL DEFAULT '',
  applied_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, version)
);

-- End of the latest interval materialised offline -> online, per feature view.
CREATE TABLE materialization_state (
  project            text        NOT NULL,
  feature_view       text        NOT NULL,
  materialized_until timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, feature_view)
);

-- Materialisation and retrieval jobs, readable from any replica.
CREATE TABLE jobs (
  id          text        PRIMARY KEY,
  project     text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('materialization', 'retrieval')),
  state       text        NOT NULL,
  request     jsonb       NOT NULL,
  progress    jsonb       NOT NULL DEFAULT '{}'::jsonb,
  error       text        NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  finished_at timestamptz
);
