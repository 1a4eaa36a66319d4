-- +goose Up

-- Notices are re-checked when they are sent: one that is no longer true
-- (a suspension notice for a restored account, a reminder for a paid
-- invoice) is superseded, never sent, with the reason recorded.
ALTER TABLE notices DROP CONSTRAINT notices_status_check;
ALTER TABLE notices ADD CONSTRAINT notices_status_check
    CHECK (status IN ('queued', 'sent', 'failed', 'superseded'));
ALTER TABLE notices ADD COLUMN superseded_reason text NOT NULL DEFAULT '';

-- The subscriber's locale (BCP 47); '' = the account type's, else the
-- company's, else en-US.
ALTER TABLE accounts ADD COLUMN locale text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE accounts DROP COLUMN locale;
ALTER TABLE notices DROP COLUMN superseded_reason;
UPDATE notices SET status = 'failed', last_error = 'superseded' WHERE status = 'superseded';
ALTER TABLE notices DROP CONSTRAINT notices_status_check;
ALTER TABLE notices ADD CONSTRAINT notices_status_check CHECK (status IN ('queued', 'sent', 'failed'));
