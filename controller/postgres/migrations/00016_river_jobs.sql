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

-- +goose Down
CREATE INDEX invoice_deliveries_due_idx ON invoice_deliveries (next_attempt_at, id) WHERE status = 'queued';
ALTER TABLE invoice_deliveries DROP COLUMN job_id;
CREATE INDEX notices_queued_idx ON notices (next_attempt_at) WHERE status = 'queued';
ALTER TABLE notices DROP COLUMN job_id;
