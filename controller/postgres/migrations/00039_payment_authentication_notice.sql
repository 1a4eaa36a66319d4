-- +goose Up
-- An autopay charge the card's bank wants authenticated (3-D Secure) cannot
-- be made off session: the subscriber is asked, by a notice of kind
-- payment_authentication, to pay in the portal.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('reminder', 'suspended', 'restored', 'ticket_reply', 'payment_authentication'));

-- +goose Down
DELETE FROM notices WHERE kind = 'payment_authentication';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('reminder', 'suspended', 'restored', 'ticket_reply'));
