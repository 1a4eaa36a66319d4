-- +goose Up

-- Notices are sent by River jobs (kind "notice", inserted in the
-- transaction that queues the notice): the table stays the user-visible
-- record, and nothing claims its rows any more. job_id is the River job
-- that sends the notice (recorded when the job first runs: the sweep
-- inserts its jobs with COPY, which returns no ids); next_attempt_at is no
-- longer a lease, only when the job tries next (a business-hours deferral
-- or a retry), for display.
ALTER TABLE notices ADD COLUMN job_id bigint;
DROP INDEX notices_queued_idx;

-- Invoice deliveries likewise: one River job per delivery (kind
-- "deliver_invoice"), inserted with the delivery or its re-send; no claims.
ALTER TABLE invoice_deliveries ADD COLUMN job_id bigint;
DROP INDEX invoice_deliveries_due_idx;

-- Queued rows whose job has not run yet (or that were queued before this
-- migration, with no job): the job runner gives them one when it starts
-- (River's uniqueness skips those whose job waits).
CREATE INDEX notices_without_job_idx ON notices (id) WHERE status = 'queued' AND job_id IS NULL;
CREATE INDEX invoice_deliveries_without_job_idx ON invoice_deliveries (id) WHERE status = 'queued' AND job_id IS NULL;

-- +goose Down
DROP INDEX invoice_deliveries_without_job_idx;
DROP INDEX notices_without_job_idx;
CREATE INDEX invoice_deliveries_due_idx ON invoice_deliveries (next_attempt_at, id) WHERE status = 'queued';
ALTER TABLE invoice_deliveries DROP COLUMN job_id;
CREATE INDEX notices_queued_idx ON notices (next_attempt_at) WHERE status = 'queued';
ALTER TABLE notices DROP COLUMN job_id;
