-- +goose Up

-- Customer portal sign-in: one-time codes sent by email. Only a hash of the
-- code is kept; a code is good for one sign-in, a few attempts and a few
-- minutes.
CREATE TABLE portal_codes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    code_hash    bytea NOT NULL,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    requested_ip text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX portal_codes_account_idx ON portal_codes (account_id, created_at);

-- Portal sessions. The cookie holds a random secret; only its SHA-256 is
-- stored, so a database dump cannot be replayed as a session.
CREATE TABLE portal_sessions (
    id_hash      bytea PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    -- How the subscriber signed in: an emailed code, or the captive
    -- redirect's token (service_id names the service it was minted for).
    via          text NOT NULL CHECK (via IN ('code', 'captive', 'staff_link')),
    service_id   bigint,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX portal_sessions_expires_idx ON portal_sessions (expires_at);

-- Support tickets opened by subscribers (portal) and answered by staff
-- (API, tollgatectl). status: open (waiting for staff), answered (staff
-- replied last), closed.
CREATE TABLE tickets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    closed_at   timestamptz,
    closed_by   text NOT NULL DEFAULT ''
);
CREATE INDEX tickets_account_idx ON tickets (account_id, id);
CREATE INDEX tickets_status_idx ON tickets (status, updated_at);

CREATE TABLE ticket_messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id),
    -- subscriber (through the portal) or staff (API token name in author).
    author_kind text NOT NULL CHECK (author_kind IN ('subscriber', 'staff')),
    author      text NOT NULL,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at  timestamptz NOT NULL
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);

-- The portal's captive-portal API finds a subscriber's service by source
-- address.
CREATE INDEX services_addresses_idx ON services USING gin (addresses);

-- +goose Down
DROP INDEX services_addresses_idx;
DROP TABLE ticket_messages;
DROP TABLE tickets;
DROP TABLE portal_sessions;
DROP TABLE portal_codes;
