-- +goose Up

-- An account's close issues its final invoice (kind final) beside its
-- regular ones: the days before the close no invoice had charged, the
-- credits of invoiced days after it, the one-time charges left.
ALTER TABLE invoices DROP CONSTRAINT invoices_kind_check,
    ADD CONSTRAINT invoices_kind_check CHECK (kind IN ('regular', 'adjustment', 'final'));

-- What staff are told about a payment when it posts (a payment to a
-- closed account posts as credit), kept with it whichever path posted it
-- (staff entry, a batch, a gateway charge, autopay, the portal).
ALTER TABLE payments ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE payments DROP COLUMN warnings;
ALTER TABLE invoices DROP CONSTRAINT invoices_kind_check,
    ADD CONSTRAINT invoices_kind_check CHECK (kind IN ('regular', 'adjustment'));
