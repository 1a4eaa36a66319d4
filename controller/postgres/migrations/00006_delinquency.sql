-- +goose Up

-- Collection state kept on the account: why it has its status (plain
-- language, shown to staff and the subscriber), a promise to pay and an
-- exemption from suspension.
ALTER TABLE accounts
    ADD COLUMN status_why        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN status_changed_at timestamptz,
    ADD COLUMN promise_until     date,
    ADD COLUMN promise_note      text NOT NULL DEFAULT '',
    ADD COLUMN exempt            boolean NOT NULL DEFAULT false,
    ADD COLUMN exempt_reason     text NOT NULL DEFAULT '';
-- The sweep's candidates besides accounts with past-due invoices.
CREATE INDEX accounts_collection_idx ON accounts (account_type_id, id)
    WHERE status IN ('past_due', 'delinquent', 'suspended');

-- Every change of an account's status, promise or exemption, with its cause.
CREATE TABLE account_status_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    from_status text NOT NULL,
    to_status   text NOT NULL,
    -- sweep, payment, reversal, approval, staff
    cause       text NOT NULL,
    -- Who or what: "job:delinquency-sweep", "user:alice", "payment 42".
    actor       text NOT NULL DEFAULT '',
    why         text[] NOT NULL DEFAULT '{}',
    sweep_id    bigint,
    payment_id  bigint,
    at          timestamptz NOT NULL
);
CREATE INDEX account_status_changes_account_idx ON account_status_changes (account_id, id);

-- One row per sweep of one account type. Scheduled sweeps run once per
-- local date; sweeps on demand as often as staff ask.
CREATE TABLE delinquency_sweeps (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_type_id bigint NOT NULL REFERENCES account_types (id),
    trigger         text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    actor           text NOT NULL DEFAULT '',
    local_date      date NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    examined        integer NOT NULL DEFAULT 0,
    status_changes  integer NOT NULL DEFAULT 0,
    suspended       integer NOT NULL DEFAULT 0,
    held            integer NOT NULL DEFAULT 0,
    restored        integer NOT NULL DEFAULT 0,
    reminders       integer NOT NULL DEFAULT 0,
    held_batch_id   bigint
);
CREATE UNIQUE INDEX delinquency_sweeps_once_a_day ON delinquency_sweeps (account_type_id, local_date)
    WHERE trigger = 'schedule';

-- Suspensions the blast-radius guard held for approval.
CREATE TABLE suspension_batches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sweep_id    bigint NOT NULL REFERENCES delinquency_sweeps (id),
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'decided')),
    -- Which limits were exceeded, per POP.
    reasons     text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    decided_by  text NOT NULL DEFAULT ''
);
CREATE INDEX suspension_batches_pending_idx ON suspension_batches (id) WHERE status = 'pending';

CREATE TABLE suspension_batch_items (
    batch_id    bigint NOT NULL REFERENCES suspension_batches (id),
    account_id  bigint NOT NULL REFERENCES accounts (id),
    service_ids bigint[] NOT NULL,
    pops        text[] NOT NULL,
    why         text[] NOT NULL DEFAULT '{}',
    -- approved: suspended on approval; skipped: approved, but the account
    -- was no longer delinquent by then; cancelled: not suspended.
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'skipped', 'cancelled')),
    decided_at  timestamptz,
    decided_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (batch_id, account_id)
);
CREATE INDEX suspension_batch_items_account_idx ON suspension_batch_items (account_id) WHERE status = 'pending';

-- The outbox of notices to subscribers (reminders before delinquency,
-- suspension and restore notices). The body is rendered when it is sent,
-- from kind and data.
CREATE TABLE notices (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES accounts (id),
    kind            text NOT NULL CHECK (kind IN ('reminder', 'suspended', 'restored')),
    -- For reminders: the invoice and how many days before its delinquency
    -- date the reminder is for.
    invoice_id      bigint REFERENCES invoices (id),
    days_before     integer NOT NULL DEFAULT 0,
    to_address      text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    -- Send only inside the account type's business hours (restore notices
    -- go at once).
    business_hours  boolean NOT NULL DEFAULT true,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE UNIQUE INDEX notices_one_reminder ON notices (invoice_id, days_before) WHERE kind = 'reminder';
CREATE INDEX notices_queued_idx ON notices (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notices_account_idx ON notices (account_id, id);

-- +goose Down
DROP TABLE notices;
DROP TABLE suspension_batch_items;
DROP TABLE suspension_batches;
DROP TABLE delinquency_sweeps;
DROP TABLE account_status_changes;
DROP INDEX accounts_collection_idx;
ALTER TABLE accounts DROP COLUMN status_why, DROP COLUMN status_changed_at, DROP COLUMN promise_until,
    DROP COLUMN promise_note, DROP COLUMN exempt, DROP COLUMN exempt_reason;
