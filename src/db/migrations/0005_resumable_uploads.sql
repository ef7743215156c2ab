-- Open resumable (tus) uploads. The quota and the per-user cap of open uploads count these
-- rows, not tus's metadata files, so the rule holds across processes and storage backends.
-- A row lives from the creating POST to the upload's end: finished (its size moves into the
-- file row in the same transaction), terminated, expired, or erased with its owner.

CREATE TABLE resumable_uploads (
  id uuid PRIMARY KEY,
  owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- The Upload-Length of the creating POST: reserved against the quota in full.
  declared_size bigint NOT NULL CHECK (declared_size >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Touched by every PATCH (and while one streams): idle uploads are swept early.
  last_activity_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resumable_uploads_owner ON resumable_uploads (owner_id);
CREATE INDEX resumable_uploads_activity ON resumable_uploads (last_activity_at);
