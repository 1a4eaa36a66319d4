-- +goose Up

-- An account's credits and write-offs, which the sweep and every
-- settlement read (creditSQL) for each account with owed invoices: most
-- accounts have none, so this index answers "none" with one probe instead
-- of a walk through the account's journal transactions.
CREATE INDEX journal_transactions_credit_idx ON journal_transactions (account_id)
    WHERE kind IN ('credit', 'write_off');

-- +goose Down
DROP INDEX journal_transactions_credit_idx;
