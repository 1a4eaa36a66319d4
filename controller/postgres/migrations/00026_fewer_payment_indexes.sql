-- +goose Up

-- Every relation a payment's transaction writes takes a lock on the table
-- and on each of its indexes; past PostgreSQL's 16 fast-path slots per
-- backend they go through the shared lock manager, whose partition locks
-- concurrent payments then queue on (LWLock:LockManager under 16 clients).
-- So a payment writes to as few indexes as it can:
--
-- allocation_events' lookups are by payment (in id order) and by invoice:
-- the payment index becomes the primary key instead of a separate index
-- beside one on id alone.
ALTER TABLE allocation_events DROP CONSTRAINT allocation_events_pkey;
DROP INDEX allocation_events_payment_idx;
ALTER TABLE allocation_events ADD PRIMARY KEY (payment_id, id);

-- A credit note (an invoice with a negative total) stays open (nothing is
-- ever allocated to it), so invoices_open_idx finds it; its own index was
-- one more for every payment's update of the invoices it pays.
DROP INDEX invoices_credit_note_idx;

-- +goose Down
CREATE INDEX invoices_credit_note_idx ON invoices (account_id) WHERE total < 0 AND status <> 'void';
ALTER TABLE allocation_events DROP CONSTRAINT allocation_events_pkey;
ALTER TABLE allocation_events ADD PRIMARY KEY (id);
CREATE INDEX allocation_events_payment_idx ON allocation_events (payment_id, id);
