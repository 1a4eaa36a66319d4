-- +goose Up

-- Writes that change an account's standing (the sweep's status changes, a
-- payment's restore) or a service's desired state touch no search index.
--
-- The staff search's trigram indexes (00034) sat on accounts and services
-- themselves, so every update of a row that could not be a HOT update
-- (a sweep's tens of thousands of status changes, each service suspension)
-- added some twenty trigrams per indexed text to the GIN indexes' pending
-- lists, and whichever write filled a pending list merged it into the index
-- in the foreground: a quarter second now and then inside a payment's
-- transaction. The searched texts move to tables of their own, kept by
-- triggers that fire only when a searched column is written (or a row is
-- inserted); the indexes move with them.
--
-- The searched texts are stored as searched: an address on one line
-- (searchAddressSQL in search.go), a phone number by its digits.
CREATE TABLE account_search (
    account_id   bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    name         text NOT NULL,
    company_name text NOT NULL,
    email        text NOT NULL,
    -- '' for an account without an address.
    address_line text NOT NULL,
    phone        text NOT NULL,
    phone_digits text NOT NULL
);

CREATE TABLE service_search (
    service_id   bigint PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    account_id   bigint,
    -- '' for a service without an address.
    address_line text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION account_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_search (account_id, name, company_name, email, address_line, phone, phone_digits)
    SELECT a.id, a.name, a.company_name, a.email,
        CASE WHEN a.address = '{}' THEN '' ELSE
            coalesce(a.address->>'line1', '') || ' ' || coalesce(a.address->>'line2', '') || ' ' || coalesce(a.address->>'city', '') || ' ' ||
            coalesce(a.address->>'region', '') || ' ' || coalesce(a.address->>'postal_code', '') END,
        a.phone, regexp_replace(a.phone, '[^0-9]', '', 'g')
    FROM new_accounts a;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION account_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_search SET name = NEW.name, company_name = NEW.company_name, email = NEW.email,
        address_line = CASE WHEN NEW.address = '{}' THEN '' ELSE
            coalesce(NEW.address->>'line1', '') || ' ' || coalesce(NEW.address->>'line2', '') || ' ' || coalesce(NEW.address->>'city', '') || ' ' ||
            coalesce(NEW.address->>'region', '') || ' ' || coalesce(NEW.address->>'postal_code', '') END,
        phone = NEW.phone, phone_digits = regexp_replace(NEW.phone, '[^0-9]', '', 'g')
    WHERE account_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION service_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO service_search (service_id, account_id, address_line)
    SELECT s.id, s.account_id,
        CASE WHEN s.service_address = '{}' THEN '' ELSE
            coalesce(s.service_address->>'line1', '') || ' ' || coalesce(s.service_address->>'line2', '') || ' ' ||
            coalesce(s.service_address->>'city', '') || ' ' || coalesce(s.service_address->>'region', '') || ' ' ||
            coalesce(s.service_address->>'postal_code', '') END
    FROM new_services s;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION service_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE service_search SET account_id = NEW.account_id,
        address_line = CASE WHEN NEW.service_address = '{}' THEN '' ELSE
            coalesce(NEW.service_address->>'line1', '') || ' ' || coalesce(NEW.service_address->>'line2', '') || ' ' ||
            coalesce(NEW.service_address->>'city', '') || ' ' || coalesce(NEW.service_address->>'region', '') || ' ' ||
            coalesce(NEW.service_address->>'postal_code', '') END
    WHERE service_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Inserts: once per statement, from its new rows (an import of thousands
-- of accounts is one insert here). Updates: per row, and only of a
-- statement that writes a searched column (a status change writes none).
-- ALWAYS: also for sessions that load data with session_replication_role =
-- replica (as the benchmarks' seeds do), which skip ordinary triggers.
CREATE TRIGGER account_search_insert AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_accounts FOR EACH STATEMENT EXECUTE FUNCTION account_search_insert();
CREATE TRIGGER account_search_update AFTER UPDATE OF name, company_name, email, address, phone ON accounts
    FOR EACH ROW EXECUTE FUNCTION account_search_update();
CREATE TRIGGER service_search_insert AFTER INSERT ON services
    REFERENCING NEW TABLE AS new_services FOR EACH STATEMENT EXECUTE FUNCTION service_search_insert();
CREATE TRIGGER service_search_update AFTER UPDATE OF account_id, service_address ON services
    FOR EACH ROW EXECUTE FUNCTION service_search_update();
ALTER TABLE accounts ENABLE ALWAYS TRIGGER account_search_insert, ENABLE ALWAYS TRIGGER account_search_update;
ALTER TABLE services ENABLE ALWAYS TRIGGER service_search_insert, ENABLE ALWAYS TRIGGER service_search_update;

INSERT INTO account_search (account_id, name, company_name, email, address_line, phone, phone_digits)
SELECT a.id, a.name, a.company_name, a.email,
    CASE WHEN a.address = '{}' THEN '' ELSE
        coalesce(a.address->>'line1', '') || ' ' || coalesce(a.address->>'line2', '') || ' ' || coalesce(a.address->>'city', '') || ' ' ||
        coalesce(a.address->>'region', '') || ' ' || coalesce(a.address->>'postal_code', '') END,
    a.phone, regexp_replace(a.phone, '[^0-9]', '', 'g')
FROM accounts a;
INSERT INTO service_search (service_id, account_id, address_line)
SELECT s.id, s.account_id,
    CASE WHEN s.service_address = '{}' THEN '' ELSE
        coalesce(s.service_address->>'line1', '') || ' ' || coalesce(s.service_address->>'line2', '') || ' ' ||
        coalesce(s.service_address->>'city', '') || ' ' || coalesce(s.service_address->>'region', '') || ' ' ||
        coalesce(s.service_address->>'postal_code', '') END
FROM services s;

DROP INDEX accounts_name_trgm_idx;
DROP INDEX accounts_company_trgm_idx;
DROP INDEX accounts_email_trgm_idx;
DROP INDEX accounts_address_trgm_idx;
DROP INDEX accounts_phone_digits_trgm_idx;
DROP INDEX services_address_trgm_idx;
CREATE INDEX account_search_name_idx ON account_search USING gin (name gin_trgm_ops);
CREATE INDEX account_search_company_idx ON account_search USING gin (company_name gin_trgm_ops) WHERE company_name <> '';
CREATE INDEX account_search_email_idx ON account_search USING gin (email gin_trgm_ops) WHERE email <> '';
CREATE INDEX account_search_address_idx ON account_search USING gin (address_line gin_trgm_ops) WHERE address_line <> '';
CREATE INDEX account_search_phone_idx ON account_search USING gin (phone_digits gin_trgm_ops) WHERE phone <> '';
CREATE INDEX service_search_address_idx ON service_search USING gin (address_line gin_trgm_ops)
    WHERE address_line <> '' AND account_id IS NOT NULL;

-- An account's status is in no index any more (the sweep finds its
-- candidates with a join over the type's accounts, which never used this
-- one), and a tenth of each new page is left free: a payment's status
-- change (a restore) is then a HOT update, which writes no index at all.
DROP INDEX accounts_collection_idx;
ALTER TABLE accounts SET (fillfactor = 90);

-- A service's bound addresses are looked up by the portal and the staff
-- search; its index is written by every change of its desired state.
-- Written directly (one or two entries per service) rather than through a
-- pending list that the write that fills it must merge.
ALTER INDEX services_addresses_idx SET (fastupdate = off);

-- The sweep's standings read an account's credit notes (open invoices with
-- a negative total, a few in a million) for every part of the accounts:
-- from this index instead of every open invoice's row.
CREATE INDEX invoices_credit_notes_idx ON invoices (account_id) WHERE status = 'open' AND total < 0;

-- +goose Down
DROP INDEX invoices_credit_notes_idx;
ALTER INDEX services_addresses_idx RESET (fastupdate);
ALTER TABLE accounts RESET (fillfactor);
CREATE INDEX accounts_collection_idx ON accounts (account_type_id, id)
    WHERE status IN ('past_due', 'delinquent', 'suspended');
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
CREATE INDEX accounts_phone_digits_trgm_idx ON accounts USING gin ((regexp_replace(phone, '[^0-9]', '', 'g')) gin_trgm_ops)
    WHERE phone <> '';
DROP TRIGGER service_search_update ON services;
DROP TRIGGER service_search_insert ON services;
DROP TRIGGER account_search_update ON accounts;
DROP TRIGGER account_search_insert ON accounts;
DROP FUNCTION service_search_update();
DROP FUNCTION service_search_insert();
DROP FUNCTION account_search_update();
DROP FUNCTION account_search_insert();
DROP TABLE service_search;
DROP TABLE account_search;
