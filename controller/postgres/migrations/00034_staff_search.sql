-- +goose Up

-- Staff search (issue 18, console item 2): the indexes each of its probes
-- uses (billing.PlanSearch decides the probes, search.go runs them), so
-- that a search answers in milliseconds over a million accounts.
--
-- pg_trgm ships with PostgreSQL (Debian's postgresql package) and is a
-- trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Substrings (ILIKE '%q%', ordered by similarity) of the account holder's
-- name, company, e-mail and billing address, and of services' addresses.
-- An address is searched on one line: searchAddressSQL in search.go is the
-- same expression.
CREATE INDEX accounts_name_trgm_idx ON accounts USING gin (name gin_trgm_ops);
CREATE INDEX accounts_company_trgm_idx ON accounts USING gin (company_name gin_trgm_ops) WHERE company_name <> '';
CREATE INDEX accounts_email_trgm_idx ON accounts USING gin (email gin_trgm_ops) WHERE email <> '';
CREATE INDEX accounts_address_trgm_idx ON accounts USING gin ((
    coalesce(address->>'line1', '') || ' ' || coalesce(address->>'line2', '') || ' ' || coalesce(address->>'city', '') || ' ' ||
    coalesce(address->>'region', '') || ' ' || coalesce(address->>'postal_code', '')) gin_trgm_ops) WHERE address <> '{}';
CREATE INDEX services_address_trgm_idx ON services USING gin ((
    coalesce(service_address->>'line1', '') || ' ' || coalesce(service_address->>'line2', '') || ' ' || coalesce(service_address->>'city', '') || ' ' ||
    coalesce(service_address->>'region', '') || ' ' || coalesce(service_address->>'postal_code', '')) gin_trgm_ops)
    WHERE service_address <> '{}' AND account_id IS NOT NULL;

-- Phone numbers by their digits, anywhere in the number ("5550100" finds
-- "+1 (512) 555-0100").
CREATE INDEX accounts_phone_digits_trgm_idx ON accounts USING gin ((regexp_replace(phone, '[^0-9]', '', 'g')) gin_trgm_ops)
    WHERE phone <> '';

-- A service's RADIUS user name, exact. (Account numbers, external ids and
-- invoice numbers have their unique indexes; service addresses their GIN
-- index, services_addresses_idx; learned addresses their GiST index.)
CREATE INDEX services_radius_username_idx ON services (radius_username) WHERE radius_username <> '' AND account_id IS NOT NULL;

-- A check number or payment reference, exact, across accounts: the one
-- search index on a table a billing path writes (every posted payment with
-- a reference adds one entry; payments_check_idx is per account, for the
-- duplicate-check warning, and cannot answer "whose check is 1042?").
CREATE INDEX payments_reference_idx ON payments (reference) WHERE reference <> '';

-- +goose Down
DROP INDEX payments_reference_idx;
DROP INDEX services_radius_username_idx;
DROP INDEX accounts_phone_digits_trgm_idx;
DROP INDEX services_address_trgm_idx;
DROP INDEX accounts_address_trgm_idx;
DROP INDEX accounts_email_trgm_idx;
DROP INDEX accounts_company_trgm_idx;
DROP INDEX accounts_name_trgm_idx;
DROP EXTENSION IF EXISTS pg_trgm;
