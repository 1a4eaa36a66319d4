-- +goose Up
-- Staff identity (issue 18): per-person staff users with a role, their
-- sign-in failures (backoff), console sessions and personal API tokens.
-- Secrets are kept only as hashes: passwords as argon2id PHC strings (the
-- parameters travel with each hash), sessions, recovery codes and tokens
-- as SHA-256. The decisions are in controller/staff.

CREATE TABLE staff_users (
    id             bigserial PRIMARY KEY,
    login          text NOT NULL UNIQUE CHECK (login ~ '^[a-z][a-z0-9._-]{1,63}$'),
    name           text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('reader', 'billing', 'admin')),
    -- '' for a user without a password (SSO or tokens only).
    password_hash  text NOT NULL DEFAULT '' CHECK (password_hash = '' OR password_hash LIKE '$argon2id$%'),
    -- Base32 TOTP secret, '' when not enrolled; the last accepted step is
    -- refused again (replay).
    totp_secret    text NOT NULL DEFAULT '',
    totp_last_step bigint NOT NULL DEFAULT 0,
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL,
    actor          text NOT NULL DEFAULT ''
);

-- Recovery codes, each usable once instead of a TOTP code.
CREATE TABLE staff_recovery_codes (
    user_id   bigint NOT NULL REFERENCES staff_users (id),
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed sign-ins in a row per user and remote address; cleared by a
-- success or by an admin (unlock).
CREATE TABLE staff_login_failures (
    user_id         bigint NOT NULL REFERENCES staff_users (id),
    remote_addr     text NOT NULL,
    failures        integer NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, remote_addr)
);

CREATE TABLE staff_sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES staff_users (id),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX staff_sessions_user_idx ON staff_sessions (user_id);

CREATE TABLE staff_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES staff_users (id),
    name         text NOT NULL CHECK (name <> ''),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX staff_tokens_user_idx ON staff_tokens (user_id, id);

-- Who posted a journal transaction: "user:<login>", a service token's
-- name, or a system actor ("billing-run:42", "sweep:7", "autopay",
-- "gateway:stripe"). '' for transactions posted before this column.
ALTER TABLE journal_transactions ADD COLUMN actor text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE journal_transactions DROP COLUMN actor;
DROP TABLE staff_tokens;
DROP TABLE staff_sessions;
DROP TABLE staff_login_failures;
DROP TABLE staff_recovery_codes;
DROP TABLE staff_users;
