-- +goose Up

-- A deposit batch's control figures: the count and total of the paper the
-- clerk counted before entering it (NULL: not given). Posting refuses a
-- batch whose lines do not add up to them.
ALTER TABLE payment_batches
    ADD COLUMN control_count integer CHECK (control_count > 0),
    ADD COLUMN control_total bigint CHECK (control_total > 0);

-- +goose Down
ALTER TABLE payment_batches DROP COLUMN control_count, DROP COLUMN control_total;
