-- +goose Up
-- Every agent report drops its POP's learned addresses whose lease ended
-- (recordLearned): the check is by POP and expiry.
CREATE INDEX learned_addresses_expiry_idx ON learned_addresses (pop_id, expires_at) WHERE expires_at IS NOT NULL;

-- +goose Down
DROP INDEX learned_addresses_expiry_idx;
