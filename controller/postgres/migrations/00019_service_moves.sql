-- +goose Up

-- Service moves and edits (issue 16, "Services"): a version that every
-- move or edit of the service increments (the API's ETag, so a move or an
-- edit sent with a stale If-Match is refused with 412 instead of losing
-- another change), and the service address: where the service is
-- delivered, which may differ from the account's address (the billing
-- address, printed in the invoice window). The same JSON shape as
-- accounts.address; '{}' when not known.
ALTER TABLE services
    ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD COLUMN service_address jsonb NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE services DROP COLUMN service_address, DROP COLUMN version;
