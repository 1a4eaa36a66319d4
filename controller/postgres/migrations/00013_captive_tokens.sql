-- +goose Up

-- Captive tokens are single-use: the portal records each token's id (the
-- SHA-256 of its signed payload) when it signs a subscriber in with it, and
-- refuses it after that. Kept until the token has expired (plus the clock
-- skew the portal allows), shared by every controller replica; expired
-- rows are purged as new tokens are used.
CREATE TABLE captive_token_uses (
    token_id   text PRIMARY KEY,
    service_id bigint NOT NULL,
    used_at    timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX captive_token_uses_expires_idx ON captive_token_uses (expires_at);

-- Autopay charges invoices due on or after the local date it was turned on
-- (NULL: on since before this column existed, or off). An invoice already
-- past due when autopay is turned on is not charged by autopay; the
-- subscriber pays it (the portal says so).
ALTER TABLE accounts ADD COLUMN autopay_since date;

-- +goose Down
ALTER TABLE accounts DROP COLUMN autopay_since;
DROP TABLE captive_token_uses;
