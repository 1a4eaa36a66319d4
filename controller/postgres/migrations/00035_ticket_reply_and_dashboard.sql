-- +goose Up
-- A staff reply to a support ticket e-mails the subscriber: a notice of
-- kind ticket_reply, queued with the reply.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('reminder', 'suspended', 'restored', 'ticket_reply'));

-- The staff dashboard's payments posted today.
CREATE INDEX payments_posted_at_idx ON payments (posted_at);

-- +goose Down
DROP INDEX payments_posted_at_idx;
DELETE FROM notices WHERE kind = 'ticket_reply';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('reminder', 'suspended', 'restored'));
