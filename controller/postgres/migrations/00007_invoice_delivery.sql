-- +goose Up

-- The invoice delivery outbox: one row per invoice and channel (email, or
-- mail through the print-and-mail vendor). Rows are queued when the
-- invoice's billing run finishes and worked by the delivery job in any
-- controller replica, which claims due rows with SKIP LOCKED and a lease
-- (next_attempt_at moved ahead), as the notices outbox does.
--
--   email: queued → sent                       (or failed)
--   mail:  queued → sent_to_vendor → mailed    (or returned, or failed)
CREATE TABLE invoice_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id       bigint NOT NULL REFERENCES invoices (id),
    account_id       bigint NOT NULL REFERENCES accounts (id),
    billing_run_id   bigint REFERENCES billing_runs (id),
    channel          text NOT NULL CHECK (channel IN ('email', 'mail')),
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sent_to_vendor', 'mailed', 'returned', 'sent', 'failed')),
    -- The email address, or the postal address on one line, of the last
    -- attempt.
    to_address       text NOT NULL DEFAULT '',
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text NOT NULL DEFAULT '',
    -- The vendor's letter id (ltr_…) once it accepted the letter, and the
    -- last status event it reported (letter.in_transit, …).
    vendor_letter_id text NOT NULL DEFAULT '',
    vendor_status    text NOT NULL DEFAULT '',
    -- Sent with every create-letter request: a retry after a lost answer
    -- gets the letter created the first time, never a second one. A re-send
    -- on demand takes a new key (…-r1, …-r2).
    idempotency_key  text NOT NULL UNIQUE,
    resends          integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    mailed_at        timestamptz,
    returned_at      timestamptz,
    UNIQUE (invoice_id, channel)
);
CREATE INDEX invoice_deliveries_due_idx ON invoice_deliveries (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX invoice_deliveries_run_idx ON invoice_deliveries (billing_run_id, id) WHERE billing_run_id IS NOT NULL;
CREATE INDEX invoice_deliveries_account_idx ON invoice_deliveries (account_id, id);
-- What the metrics gauge counts at every scrape: the rows that need
-- watching, not the history.
CREATE INDEX invoice_deliveries_open_idx ON invoice_deliveries (channel, status)
    WHERE status IN ('queued', 'sent_to_vendor', 'failed');
CREATE UNIQUE INDEX invoice_deliveries_letter_idx ON invoice_deliveries (vendor_letter_id) WHERE vendor_letter_id <> '';

-- Billing runs whose invoices have been queued for delivery (once per run;
-- the channels that were on at the time).
CREATE TABLE invoice_delivery_runs (
    run_id    bigint PRIMARY KEY REFERENCES billing_runs (id),
    channels  text[] NOT NULL,
    queued_at timestamptz NOT NULL
);
-- Runs that finished before delivery existed are not delivered now.
INSERT INTO invoice_delivery_runs (run_id, channels, queued_at)
    SELECT id, '{}', now() FROM billing_runs WHERE status <> 'running';

-- +goose Down
DROP TABLE invoice_delivery_runs;
DROP TABLE invoice_deliveries;
