-- +goose Up

-- A credit note's allocation events (the invoices it paid), listed by
-- GET /api/v1/invoices/{id}/allocations, are found through this partial
-- index: only credit notes' events are in it, so a payment's allocation
-- (most events) writes no entry here.
CREATE INDEX allocation_events_credit_note_idx ON allocation_events (credit_note_id, id) WHERE credit_note_id IS NOT NULL;

-- +goose Down
DROP INDEX allocation_events_credit_note_idx;
