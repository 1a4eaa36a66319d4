-- +goose Up

-- Payment allocations as append-only dated rows (issue 16, "Data the
-- lifecycle needs"): every change of what a payment paid on an invoice —
-- applied (oldest first or as staff chose), moved by a reallocation,
-- taken back by a reversal — is an event; payment_allocations is their
-- running total, written in the same statements, and reports "as of a
-- date" sum the events effective on or before it. Events are never
-- updated or deleted.
CREATE TABLE allocation_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id     bigint NOT NULL REFERENCES payments (id),
    invoice_id     bigint NOT NULL REFERENCES invoices (id),
    amount         bigint NOT NULL CHECK (amount <> 0),
    kind           text NOT NULL CHECK (kind IN ('applied', 'reallocated', 'reversed')),
    effective_date date NOT NULL,
    actor          text NOT NULL DEFAULT ''
);
CREATE INDEX allocation_events_payment_idx ON allocation_events (payment_id, id);
CREATE INDEX allocation_events_invoice_idx ON allocation_events (invoice_id);

-- +goose StatementBegin
CREATE FUNCTION allocation_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'allocation events are append-only: % refused', TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = 'allocation_events_append_only';
END $$;
-- +goose StatementEnd
CREATE TRIGGER allocation_events_append_only BEFORE UPDATE OR DELETE ON allocation_events
    FOR EACH ROW EXECUTE FUNCTION allocation_events_append_only();
CREATE TRIGGER allocation_events_no_truncate BEFORE TRUNCATE ON allocation_events
    FOR EACH STATEMENT EXECUTE FUNCTION allocation_events_append_only();

-- The allocations made before events existed: one event each, effective
-- when both the payment and the invoice existed.
INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
SELECT a.payment_id, a.invoice_id, a.amount, 'applied', greatest(p.received_date, i.issue_date), 'migration'
FROM payment_allocations a JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id
ORDER BY a.payment_id, a.invoice_id;

-- A deposit batch line's chosen invoices ([{"invoice": "INV-000012",
-- "amount": 2500}]), paid first when the batch posts.
ALTER TABLE payment_batch_lines ADD COLUMN apply_to jsonb NOT NULL DEFAULT '[]';
-- A gateway charge's chosen invoices, paid first (as far as they are still
-- open) when the charge succeeds.
ALTER TABLE payment_attempts ADD COLUMN apply_to jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE payment_attempts DROP COLUMN apply_to;
ALTER TABLE payment_batch_lines DROP COLUMN apply_to;
DROP TABLE allocation_events;
DROP FUNCTION allocation_events_append_only;
