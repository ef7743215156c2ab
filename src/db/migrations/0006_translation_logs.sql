-- One row per synchronous translation (POST /api/v1/translate): what was asked and how it went,
-- for the user's own history and export and for the operator's view of use. The source text
-- is kept only when TRANSLATION_LOG_TEXT=true, and then cleared after FILE_RETENTION_HOURS;
-- rows go after TRANSLATION_LOG_RETENTION_DAYS, and with their user.

CREATE TABLE translation_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  source_lang text NOT NULL CHECK (source_lang ~ '^[a-z]{2,3}$'),
  target_lang text NOT NULL CHECK (target_lang ~ '^[a-z]{2,3}$'),
  -- Every language the text passed through, both ends included: {fr,es,en}.
  route text[] NOT NULL,
  -- Of the trimmed source text, in Unicode code points.
  characters integer NOT NULL CHECK (characters >= 0),
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  -- Refused requests (bad codes, no route, empty text) leave no row: they translated nothing.
  status text NOT NULL CHECK (status IN ('ok', 'failed')),
  text text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX translation_logs_user ON translation_logs (user_id, created_at);
CREATE INDEX translation_logs_created ON translation_logs (created_at);
CREATE INDEX translation_logs_text_kept ON translation_logs (created_at) WHERE text IS NOT NULL;
