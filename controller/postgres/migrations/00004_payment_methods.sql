-- +goose Up

-- Payment methods are gateway tokens with what may be shown (brand, last 4,
-- expiry); a card number never reaches the database.
CREATE TABLE payment_methods (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    gateway     text NOT NULL,
    token       text NOT NULL,
    customer    text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('card', 'bank_account')),
    brand       text NOT NULL DEFAULT '',
    last4       text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    exp_month   integer NOT NULL DEFAULT 0,
    exp_year    integer NOT NULL DEFAULT 0,
    bank_name   text NOT NULL DEFAULT '',
    is_default  boolean NOT NULL DEFAULT false,
    -- failing: the last charge failed in a way the subscriber must fix
    -- (declined, expired); shown to them in the portal.
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'failing', 'removed')),
    failure     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    removed_at  timestamptz,
    UNIQUE (gateway, token)
);
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (account_id) WHERE is_default AND status <> 'removed';

ALTER TABLE accounts ADD COLUMN autopay boolean NOT NULL DEFAULT false;

-- Every attempt to charge a gateway, successful or not.
CREATE TABLE payment_attempts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id        bigint NOT NULL REFERENCES accounts (id),
    payment_method_id bigint NOT NULL REFERENCES payment_methods (id),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          char(3) NOT NULL,
    trigger           text NOT NULL CHECK (trigger IN ('staff', 'autopay', 'portal')),
    gateway           text NOT NULL,
    charge_id         text NOT NULL DEFAULT '',
    status            text NOT NULL CHECK (status IN ('succeeded', 'failed', 'error')),
    failure_code      text NOT NULL DEFAULT '',
    failure_message   text NOT NULL DEFAULT '',
    payment_id        bigint REFERENCES payments (id),
    invoice_id        bigint REFERENCES invoices (id),
    attempt_no        integer NOT NULL DEFAULT 1,
    idempotency_key   text NOT NULL UNIQUE,
    created_at        timestamptz NOT NULL
);
CREATE INDEX payment_attempts_account_idx ON payment_attempts (account_id, id);

-- Webhook deliveries by event id: a redelivered event is acknowledged and
-- ignored.
CREATE TABLE webhook_events (
    gateway     text NOT NULL,
    event_id    text NOT NULL,
    type        text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (gateway, event_id)
);

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE payment_attempts;
ALTER TABLE accounts DROP COLUMN autopay;
DROP TABLE payment_methods;
