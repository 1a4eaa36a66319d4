-- +goose Up

-- Account edits (issue 16, "Accounts"): the company name, a per-account
-- billing-day override (NULL = the account type's billing day), and a
-- version that every edit increments: the API's ETag, so that an edit sent
-- with a stale If-Match is refused (412) instead of losing another edit.
ALTER TABLE accounts
    ADD COLUMN company_name text NOT NULL DEFAULT '',
    ADD COLUMN billing_day  smallint CHECK (billing_day BETWEEN 1 AND 31),
    ADD COLUMN version      bigint NOT NULL DEFAULT 1 CHECK (version >= 1);

-- The audit log: who changed what, when, from what to what, and why.
-- before and after hold only the fields that changed, by their API names.
-- Rows are never updated or deleted.
CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor     text NOT NULL CHECK (actor <> ''),
    at        timestamptz NOT NULL,
    entity    text NOT NULL CHECK (entity <> ''),
    entity_id bigint NOT NULL,
    before    jsonb NOT NULL DEFAULT '{}',
    after     jsonb NOT NULL DEFAULT '{}',
    reason    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, at);

-- +goose Down
DROP TABLE audit_log;
ALTER TABLE accounts DROP COLUMN version, DROP COLUMN billing_day, DROP COLUMN company_name;
