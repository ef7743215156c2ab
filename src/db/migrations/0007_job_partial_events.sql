-- `partial`: a piece of a job's result that is already final (a recognised segment), written
-- as the engine produces it, so a client streams the result from the event log even when the
-- job runs in another process.

ALTER TABLE job_events DROP CONSTRAINT job_events_kind_check;
ALTER TABLE job_events ADD CONSTRAINT job_events_kind_check CHECK (kind IN ('status', 'progress', 'partial'));
