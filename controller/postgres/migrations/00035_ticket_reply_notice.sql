-- +goose Up
-- A staff reply to a support ticket e-mails the subscriber: a notice of
-- kind ticket_reply, queued with the reply.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('reminder', 'suspended', 'restored', 'ticket_reply'));

-- +goose Down
DELETE FROM notices WHERE kind = 'ticket_reply';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('reminder', 'suspended', 'restored'));
