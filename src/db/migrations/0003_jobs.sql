-- Jobs: the user-facing record of work on a file. Delivery, retries and leases are pg-boss's
-- (its own schema); this table is what the API shows and what survives pg-boss's clean-up.

CREATE TABLE jobs (
  id uuid PRIMARY KEY,
  owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type text NOT NULL,
  -- No foreign key: a file may be deleted while its job waits, and the job must then fail
  -- with a clear message rather than vanish or lose the id it was asked about.
  file_id uuid,
  params jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  progress real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  stage text NOT NULL DEFAULT '',
  attempts integer NOT NULL DEFAULT 0,
  -- Shown to the owner: written from EngineError messages only, never stack traces or paths.
  error text,
  -- Why it failed, for programs: invalid_input and missing_engine are never retried.
  error_code text CHECK (error_code IN ('invalid_input', 'missing_engine', 'engine_failed', 'timeout', 'worker_lost')),
  result jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  expires_at timestamptz
);
CREATE INDEX jobs_owner ON jobs (owner_id, created_at DESC, id DESC);
CREATE INDEX jobs_unfinished ON jobs (owner_id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_file_unfinished ON jobs (file_id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_expires ON jobs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE job_artifacts (
  job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  -- The storage object holding the bytes (a UUID, like files).
  object_id uuid NOT NULL UNIQUE,
  content_type text NOT NULL,
  size bigint NOT NULL,
  PRIMARY KEY (job_id, name)
);

-- What Server-Sent Events replay: a client that reconnects with Last-Event-ID gets every
-- event after that id, so progress is never lost between two connections.
CREATE TABLE job_events (
  id bigserial PRIMARY KEY,
  job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('status', 'progress')),
  data jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_events_job ON job_events (job_id, id);
