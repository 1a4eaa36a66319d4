-- +goose Up

-- Per-account overrides of the account type's billing settings (issue 16):
-- one JSON object holding only the settings the account overrides, by
-- their API names (billing.AccountOverrides); NULL inherits them all, so a
-- later change to the type reaches every account that does not override
-- it. Tax exemption with the reference of its certificate (the existing
-- exempt column is the exemption from suspension).
ALTER TABLE accounts
    ADD COLUMN overrides jsonb CHECK (overrides IS NULL OR (jsonb_typeof(overrides) = 'object' AND overrides <> '{}')),
    ADD COLUMN tax_exempt boolean NOT NULL DEFAULT false,
    ADD COLUMN exemption_certificate text NOT NULL DEFAULT '',
    ADD CONSTRAINT accounts_tax_exempt_certificate CHECK (NOT tax_exempt OR exemption_certificate <> '');

-- The few accounts with overrides of each type: a sweep reads their distinct
-- overrides (for how far ahead reminders look) without scanning the rest.
CREATE INDEX accounts_overrides_idx ON accounts (account_type_id) WHERE overrides IS NOT NULL;

-- +goose Down
ALTER TABLE accounts DROP COLUMN exemption_certificate, DROP COLUMN tax_exempt, DROP COLUMN overrides;
