-- One-time passwords: a generated first-admin password, or one an admin set for someone
-- else. Until the owner chooses their own, the account may only change it (the access
-- decision in permissions.ts), and past password_expires_at it no longer signs in at all.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN password_expires_at timestamptz;
