-- +goose Up

-- An agent's result can be "pending": the driver did what it can and the
-- state takes effect at a later event (a RADIUS suspension of a service with
-- no active session applies at its next login). Neither failed nor
-- confirmed. pending_revision is the revision the pending result was for:
-- a pending reason says something only while the service is still at it.
ALTER TABLE services
    ADD COLUMN pending_reason   text   NOT NULL DEFAULT '',
    ADD COLUMN pending_revision bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE services
    DROP COLUMN pending_reason,
    DROP COLUMN pending_revision;
