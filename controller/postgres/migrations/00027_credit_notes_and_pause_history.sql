-- +goose Up

-- Credit notes applied to invoices, and a service's pause history.
--
-- A credit note (an invoice with a negative total) is applied to the
-- account's open invoices like a payment (issue 16): an allocation event
-- with no payment, credit note → invoice. The invoice's paid total grows,
-- the credit note's goes below zero by what it gave (what it has left is
-- −(total − paid)); each is paid when paid reaches total. At a close, the
-- final credit note may take over what a payment paid on an invoice
-- (kind taken_over: −amount on the payment's side, +amount on the note's),
-- freeing the payment's money for a refund. No journal entry: the
-- account's receivable does not change.
--
-- An event names a payment or a credit note. The events' lookup by
-- payment stays the one index a payment writes (unique, as the primary
-- key it replaces was: the identity id keeps rows distinct).
ALTER TABLE allocation_events DROP CONSTRAINT allocation_events_pkey;
ALTER TABLE allocation_events ALTER COLUMN payment_id DROP NOT NULL;
ALTER TABLE allocation_events ADD CONSTRAINT allocation_events_payment_key UNIQUE (payment_id, id);
ALTER TABLE allocation_events ADD COLUMN credit_note_id bigint REFERENCES invoices (id),
    ADD CONSTRAINT allocation_events_source CHECK ((payment_id IS NULL) <> (credit_note_id IS NULL));
ALTER TABLE allocation_events DROP CONSTRAINT allocation_events_kind_check,
    ADD CONSTRAINT allocation_events_kind_check CHECK (kind IN ('applied', 'reallocated', 'reversed', 'taken_over'));

-- The running totals of the credit notes' events, as payment_allocations
-- are of the payments'.
CREATE TABLE credit_note_allocations (
    credit_note_id bigint NOT NULL REFERENCES invoices (id),
    invoice_id     bigint NOT NULL REFERENCES invoices (id),
    amount         bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (credit_note_id, invoice_id)
);
CREATE INDEX credit_note_allocations_invoice_idx ON credit_note_allocations (invoice_id);

-- A credit note's paid total is minus what it has given, never beyond
-- its total.
ALTER TABLE invoices DROP CONSTRAINT invoices_paid_check,
    ADD CONSTRAINT invoices_paid_check CHECK (paid >= least(total, 0));

-- A service's pauses before its current one (services.pause_from and
-- pause_to): a new pause, once the last is over, replaces it there and
-- the ended one is kept here, so the billing run (a catch-up of periods
-- not invoiced yet among them) leaves out the days of every pause.
CREATE TABLE service_pauses (
    service_id bigint NOT NULL REFERENCES services (id),
    from_date  date NOT NULL,
    to_date    date NOT NULL CHECK (to_date > from_date),
    PRIMARY KEY (service_id, from_date)
);

-- +goose Down
DROP TABLE service_pauses;
ALTER TABLE invoices DROP CONSTRAINT invoices_paid_check,
    ADD CONSTRAINT invoices_paid_check CHECK (paid >= 0);
DROP TABLE credit_note_allocations;
ALTER TABLE allocation_events DROP CONSTRAINT allocation_events_kind_check,
    ADD CONSTRAINT allocation_events_kind_check CHECK (kind IN ('applied', 'reallocated', 'reversed'));
ALTER TABLE allocation_events DROP COLUMN credit_note_id;
ALTER TABLE allocation_events DROP CONSTRAINT allocation_events_payment_key;
ALTER TABLE allocation_events ALTER COLUMN payment_id SET NOT NULL;
ALTER TABLE allocation_events ADD PRIMARY KEY (payment_id, id);
