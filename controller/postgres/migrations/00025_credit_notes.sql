-- +goose Up

-- An invoice whose credits exceed its charges (a plan change, cancel or
-- pause credited more than the period charged; a close's final invoice)
-- has a negative total: it is credit on the account, which pays its
-- oldest invoices first like any other credit (creditSQL). Most accounts
-- have none, so this index answers "none" with one probe.
CREATE INDEX invoices_credit_note_idx ON invoices (account_id) WHERE total < 0 AND status <> 'void';

-- +goose Down
DROP INDEX invoices_credit_note_idx;
