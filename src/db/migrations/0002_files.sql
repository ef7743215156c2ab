-- Audio files: only validated uploads get a row; the bytes live in storage under the id.

CREATE TABLE files (
  id uuid PRIMARY KEY,
  owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The client's name, sanitised; metadata only, never part of a path.
  name text NOT NULL,
  format text NOT NULL CHECK (format IN ('mp3', 'wav', 'flac', 'aac', 'ogg', 'm4a', 'wma')),
  content_type text NOT NULL,
  size bigint NOT NULL CHECK (size > 0),
  sha256 text NOT NULL,
  duration_sec double precision NOT NULL,
  sample_rate integer NOT NULL,
  channels integer NOT NULL,
  codec text NOT NULL,
  source text NOT NULL CHECK (source IN ('upload', 'resumable', 'import')),
  source_url text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX files_owner ON files (owner_id, created_at DESC, id DESC);
CREATE INDEX files_expires ON files (expires_at);
