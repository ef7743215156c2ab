-- Encryption at rest (docs/security.md): each encrypted object's own key, wrapped by a master
-- key (STORAGE_ENCRYPTION_KEY) whose fingerprint is key_id. Kept in the database, not beside
-- the object, so that rotating the master key re-wraps these rows without rewriting audio,
-- and so that whoever can write the object store cannot make an object look encrypted or not.
-- An object with no row here was written before encryption was on, and is read as plaintext.

CREATE TABLE object_keys (
  object_id uuid PRIMARY KEY,
  key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
  wrapped bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rewrapped_at timestamptz
);
-- Rotation walks the rows not under the current key; start-up asks for unknown key ids.
CREATE INDEX object_keys_key_id ON object_keys (key_id, object_id);
