-- +goose Up
-- Single sign-on (issue 18): a staff user linked to the identities an
-- OpenID Connect provider vouches for. The provider's issuer and subject
-- (sub) name a person for good; their e-mail may change, so it is kept
-- only as last seen. A person signing in for the first time gets a staff
-- user made just in time (controller/postgres/staffsso.go); each sign-in
-- sets the user's role to what the configured rules give.

CREATE TABLE staff_sso_identities (
    issuer          text NOT NULL CHECK (issuer <> ''),
    subject         text NOT NULL CHECK (subject <> ''),
    user_id         bigint NOT NULL REFERENCES staff_users (id),
    email           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX staff_sso_identities_user_idx ON staff_sso_identities (user_id);

-- +goose Down
DROP TABLE staff_sso_identities;
