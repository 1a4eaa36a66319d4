-- +goose Up

-- Billing profiles. The settings that are lists or small structures are
-- kept as JSON documents validated by the domain core before they are
-- written; the scalar ones that queries filter on are columns.
CREATE TABLE account_types (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name <> ''),
    time_zone     text NOT NULL,
    settings      jsonb NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE tax_rates (
    jurisdiction text NOT NULL CHECK (jurisdiction <> ''),
    name         text NOT NULL CHECK (name <> ''),
    rate         numeric(7, 6) NOT NULL CHECK (rate >= 0 AND rate < 1),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (jurisdiction, name)
);

CREATE TABLE plans (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name <> ''),
    price      bigint NOT NULL CHECK (price >= 0),
    currency   char(3) NOT NULL,
    interval   text NOT NULL CHECK (interval IN ('monthly', 'quarterly', 'annual')),
    taxable    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL
);

CREATE SEQUENCE account_number_seq;
CREATE TABLE accounts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number           text NOT NULL UNIQUE,
    external_id      text UNIQUE CHECK (external_id <> ''),
    name             text NOT NULL CHECK (name <> ''),
    email            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    address          jsonb NOT NULL DEFAULT '{}',
    account_type_id  bigint NOT NULL REFERENCES account_types (id),
    currency         char(3) NOT NULL,
    status           text NOT NULL DEFAULT 'current'
                     CHECK (status IN ('current', 'past_due', 'delinquent', 'suspended', 'closed')),
    tax_jurisdiction text NOT NULL DEFAULT '',
    delivery         text NOT NULL DEFAULT '' CHECK (delivery IN ('', 'email', 'mail', 'both')),
    anchor_date      date NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX accounts_type_idx ON accounts (account_type_id, id);

-- Services gain their billing side: the account, the plan and the dates the
-- service is billed for. A service without a plan is not billed.
ALTER TABLE services
    ADD COLUMN account_id bigint REFERENCES accounts (id),
    ADD COLUMN plan_id    bigint REFERENCES plans (id),
    ADD COLUMN start_date date,
    ADD COLUMN end_date   date,
    ADD CONSTRAINT services_dates_check CHECK (end_date IS NULL OR start_date IS NULL OR end_date > start_date),
    ADD CONSTRAINT services_plan_needs_account CHECK (plan_id IS NULL OR (account_id IS NOT NULL AND start_date IS NOT NULL));
CREATE INDEX services_account_idx ON services (account_id) WHERE account_id IS NOT NULL;

CREATE TABLE invoices (
    id               bigint PRIMARY KEY,
    number           text NOT NULL UNIQUE,
    account_id       bigint NOT NULL REFERENCES accounts (id),
    period_start     date NOT NULL,
    period_end       date NOT NULL CHECK (period_end > period_start),
    issue_date       date NOT NULL,
    due_date         date NOT NULL,
    delinquency_date date NOT NULL,
    currency         char(3) NOT NULL,
    subtotal         bigint NOT NULL,
    tax              bigint NOT NULL,
    total            bigint NOT NULL CHECK (total = subtotal + tax),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'void')),
    why              text[] NOT NULL DEFAULT '{}',
    billing_run_id   bigint,
    created_at       timestamptz NOT NULL,
    voided_at        timestamptz,
    -- A billing run that is re-run, or crashes and resumes, creates nothing
    -- twice.
    UNIQUE (account_id, period_start)
);
CREATE SEQUENCE invoices_id_seq OWNED BY invoices.id;
CREATE INDEX invoices_open_idx ON invoices (account_id, due_date) WHERE status = 'open';

CREATE TABLE invoice_lines (
    invoice_id   bigint NOT NULL REFERENCES invoices (id),
    line_no      integer NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('recurring', 'one_time', 'fee', 'tax', 'credit')),
    description  text NOT NULL,
    service_id   bigint,
    charge_id    bigint,
    period_start date,
    period_end   date,
    amount       bigint NOT NULL,
    taxable      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (invoice_id, line_no)
);

CREATE TABLE one_time_charges (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    description text NOT NULL CHECK (description <> ''),
    amount      bigint NOT NULL CHECK (amount > 0),
    taxable     boolean NOT NULL DEFAULT true,
    charge_date date NOT NULL,
    invoice_id  bigint REFERENCES invoices (id),
    created_at  timestamptz NOT NULL
);
CREATE INDEX one_time_charges_open_idx ON one_time_charges (account_id) WHERE invoice_id IS NULL;

-- The double-entry journal. Every business event is one transaction whose
-- entries sum to zero; nothing is ever updated or deleted (corrections are
-- new, reversing transactions).
CREATE TABLE journal_transactions (
    -- Batch writers take ids from the sequence ahead (nextval over
    -- generate_series) to COPY transactions and entries together.
    id             bigint PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('invoice_issued', 'invoice_voided', 'payment_posted',
                       'payment_reversed', 'refund', 'credit', 'fee', 'write_off')),
    account_id     bigint NOT NULL REFERENCES accounts (id),
    invoice_id     bigint REFERENCES invoices (id),
    currency       char(3) NOT NULL,
    memo           text NOT NULL DEFAULT '',
    effective_date date NOT NULL,
    posted_at      timestamptz NOT NULL
);
CREATE SEQUENCE journal_transactions_id_seq OWNED BY journal_transactions.id;
ALTER TABLE journal_transactions ALTER COLUMN id SET DEFAULT nextval('journal_transactions_id_seq');
CREATE INDEX journal_transactions_account_idx ON journal_transactions (account_id, id);
-- One late fee per invoice.
CREATE UNIQUE INDEX journal_one_late_fee_per_invoice ON journal_transactions (invoice_id) WHERE kind = 'fee';

CREATE TABLE journal_entries (
    tx_id      bigint NOT NULL REFERENCES journal_transactions (id),
    entry_no   smallint NOT NULL,
    -- Denormalised from the transaction so balances are one index scan.
    account_id bigint NOT NULL,
    ledger     text NOT NULL CHECK (ledger IN ('accounts_receivable', 'service_revenue', 'fee_revenue',
                   'tax_payable', 'undeposited_funds', 'credits_and_adjustments', 'bad_debt')),
    amount     bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (tx_id, entry_no)
);
CREATE INDEX journal_entries_receivable_idx ON journal_entries (account_id) INCLUDE (amount)
    WHERE ledger = 'accounts_receivable';

-- +goose StatementBegin
-- Rejects any statement whose new entries do not sum to zero per
-- transaction. Entries are only ever inserted (see below), so if every
-- statement balances each transaction it touches, every transaction
-- balances. A statement-level trigger with a transition table checks a
-- COPY of a million entries in one pass.
CREATE FUNCTION journal_entries_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT tx_id, sum(amount) AS total INTO bad
    FROM new_entries GROUP BY tx_id HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal transaction % does not balance: its entries sum to %', bad.tx_id, bad.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_balanced';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER journal_entries_balance AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION journal_entries_balance();

-- +goose StatementBegin
CREATE FUNCTION journal_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % is not allowed; post a reversing transaction instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_immutable';
END $$;
-- +goose StatementEnd
CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION journal_immutable();
CREATE TRIGGER journal_transactions_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION journal_immutable();

-- Balances are derived from the journal, never stored apart from it.
CREATE VIEW account_balances AS
    SELECT a.id AS account_id, coalesce(sum(e.amount), 0)::bigint AS balance
    FROM accounts a LEFT JOIN journal_entries e ON e.account_id = a.id AND e.ledger = 'accounts_receivable'
    GROUP BY a.id;

-- A billing run: invoices every account of one account type whose issue
-- date is run_date. Batches of accounts are River jobs; progress is counted
-- here in the same transaction as each batch's invoices.
CREATE TABLE billing_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_type_id  bigint NOT NULL REFERENCES account_types (id),
    run_date         date NOT NULL,
    trigger          text NOT NULL CHECK (trigger IN ('schedule', 'on_demand', 'clock')),
    requested_by     text NOT NULL DEFAULT '',
    status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    total_accounts   integer NOT NULL DEFAULT 0,
    done_accounts    integer NOT NULL DEFAULT 0,
    total_batches    integer NOT NULL DEFAULT 0,
    done_batches     integer NOT NULL DEFAULT 0,
    invoices_created integer NOT NULL DEFAULT 0,
    amount_invoiced  bigint NOT NULL DEFAULT 0,
    -- Accounts that could not be invoiced (see billing_run_errors); the
    -- rest of the run is not held up by them.
    failed_accounts  integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    UNIQUE (account_type_id, run_date)
);
ALTER TABLE invoices ADD CONSTRAINT invoices_billing_run_fk FOREIGN KEY (billing_run_id) REFERENCES billing_runs (id);

CREATE TABLE billing_run_batches (
    run_id     bigint NOT NULL REFERENCES billing_runs (id),
    batch_no   integer NOT NULL,
    first_id   bigint NOT NULL,
    last_id    bigint NOT NULL,
    accounts   integer NOT NULL,
    done_at    timestamptz,
    invoices   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, batch_no)
);

CREATE TABLE billing_run_errors (
    run_id     bigint NOT NULL REFERENCES billing_runs (id),
    account_id bigint NOT NULL REFERENCES accounts (id),
    error      text NOT NULL,
    PRIMARY KEY (run_id, account_id)
);

-- +goose Down
DROP TABLE billing_run_errors;
DROP TABLE billing_run_batches;
ALTER TABLE invoices DROP CONSTRAINT invoices_billing_run_fk;
DROP TABLE billing_runs;
DROP VIEW account_balances;
DROP TABLE journal_entries;
DROP TABLE journal_transactions;
DROP FUNCTION journal_immutable;
DROP FUNCTION journal_entries_balance;
DROP TABLE one_time_charges;
DROP TABLE invoice_lines;
DROP TABLE invoices;
ALTER TABLE services DROP COLUMN account_id, DROP COLUMN plan_id, DROP COLUMN start_date, DROP COLUMN end_date;
DROP TABLE accounts;
DROP SEQUENCE account_number_seq;
DROP TABLE plans;
DROP TABLE tax_rates;
DROP TABLE account_types;
