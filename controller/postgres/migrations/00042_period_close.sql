-- +goose Up
-- Period close (issue 20). Staff close a month; from then on nothing posts
-- into it: a journal transaction or allocation event dated on or before the
-- last closed day is moved, as it is inserted, to the first open day, its
-- own date kept in original_date (shown to staff). Done here, in one
-- BEFORE INSERT trigger per table, because every writer passes through it
-- (single posts, batch COPYs, sweeps, reversals, voids, credits, fees), as
-- the journal's balance trigger is; the rule itself is
-- reports.PostingDate. Reports read effective dates, so a closed period's
-- reports never change.
CREATE TABLE period_closes (
    -- The last day closed (a month's last day); the books are closed
    -- through the greatest.
    through   date PRIMARY KEY,
    closed_by text NOT NULL DEFAULT '',
    closed_at timestamptz NOT NULL
);

ALTER TABLE journal_transactions ADD COLUMN original_date date;
ALTER TABLE allocation_events ADD COLUMN original_date date;

-- +goose StatementBegin
CREATE FUNCTION post_into_open_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    closed date;
BEGIN
    SELECT through INTO closed FROM period_closes ORDER BY through DESC LIMIT 1;
    IF closed IS NOT NULL AND NEW.effective_date <= closed THEN
        NEW.original_date := NEW.effective_date;
        NEW.effective_date := closed + 1;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER journal_transactions_open_period BEFORE INSERT ON journal_transactions
    FOR EACH ROW EXECUTE FUNCTION post_into_open_period();
CREATE TRIGGER allocation_events_open_period BEFORE INSERT ON allocation_events
    FOR EACH ROW EXECUTE FUNCTION post_into_open_period();

-- Aging as of a date reads when a voided invoice was voided.
CREATE INDEX journal_transactions_void_idx ON journal_transactions (invoice_id) WHERE kind = 'invoice_voided';

-- +goose Down
DROP INDEX journal_transactions_void_idx;
DROP TRIGGER allocation_events_open_period ON allocation_events;
DROP TRIGGER journal_transactions_open_period ON journal_transactions;
DROP FUNCTION post_into_open_period;
ALTER TABLE allocation_events DROP COLUMN original_date;
ALTER TABLE journal_transactions DROP COLUMN original_date;
DROP TABLE period_closes;
