-- +goose Up
-- Posted payments e-mail a receipt (issue 19): a notice of kind receipt,
-- queued in the payment's transaction for the channels the account type's
-- receipts_for names (in its settings JSON; default portal and autopay).
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('reminder', 'suspended', 'restored', 'ticket_reply', 'payment_authentication', 'receipt'));

-- +goose Down
DELETE FROM notices WHERE kind = 'receipt';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('reminder', 'suspended', 'restored', 'ticket_reply', 'payment_authentication'));
