-- +goose Up
-- AR aging as of a date (issue 20) sums every account's receivable entries
-- effective by then: over a million accounts, a join of the whole journal.
-- A closed period never changes (00042), so each close keeps every
-- account's receivable balance at its last day, made once after the close
-- (incrementally from the close before it); aging as of a date then reads
-- the snapshot of the latest close on or before it and only the entries
-- dated after that close. receivable_snapshots marks a finished snapshot:
-- a close without one (the controller stopped before making it) is made
-- again later, and until then aging reads an earlier one or the journal.
CREATE TABLE receivable_snapshots (
    through  date PRIMARY KEY REFERENCES period_closes (through),
    accounts integer NOT NULL,
    made_at  timestamptz NOT NULL
);
CREATE TABLE receivable_at_close (
    through    date NOT NULL REFERENCES receivable_snapshots (through),
    account_id bigint NOT NULL,
    -- Only balances that are not zero.
    balance    bigint NOT NULL CHECK (balance <> 0),
    PRIMARY KEY (through, account_id)
);

-- The journal after a close, by date: aging's reads of what was posted
-- between a snapshot and its date, and the snapshots' own.
CREATE INDEX journal_transactions_date_idx ON journal_transactions (effective_date);

-- +goose Down
DROP INDEX journal_transactions_date_idx;
DROP TABLE receivable_at_close;
DROP TABLE receivable_snapshots;
