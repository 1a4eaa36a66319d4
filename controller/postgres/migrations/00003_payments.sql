-- +goose Up

-- A deposit batch: staff enter many check/cash/wire payments in one place,
-- validate them, then post them as one unit. A posted batch is immutable.
CREATE TABLE payment_batches (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deposit_date    date NOT NULL,
    deposit_account text NOT NULL DEFAULT '',
    memo            text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'posted')),
    created_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    posted_by       text NOT NULL DEFAULT '',
    posted_at       timestamptz
);

CREATE TABLE payment_batch_lines (
    batch_id    bigint NOT NULL REFERENCES payment_batches (id),
    line_no     integer NOT NULL,
    -- What staff typed: an account number ("A-000042"), external id or id.
    account_ref text NOT NULL,
    method      text NOT NULL,
    amount      bigint NOT NULL,
    reference   text NOT NULL DEFAULT '',
    payer       text NOT NULL DEFAULT '',
    memo        text NOT NULL DEFAULT '',
    PRIMARY KEY (batch_id, line_no)
);

-- +goose StatementBegin
CREATE FUNCTION payment_batch_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.batch_id ELSE NEW.batch_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM payment_batches WHERE id = b AND status = 'posted') THEN
        RAISE EXCEPTION 'payment batch % is posted and can no longer change', b
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_batch_posted';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
-- +goose StatementEnd
CREATE TRIGGER payment_batch_lines_frozen BEFORE INSERT OR UPDATE OR DELETE ON payment_batch_lines
    FOR EACH ROW EXECUTE FUNCTION payment_batch_lines_frozen();

CREATE TABLE payments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES accounts (id),
    method          text NOT NULL CHECK (method IN ('card', 'ach', 'check', 'cash', 'wire', 'money_order', 'other')),
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL,
    reference       text NOT NULL DEFAULT '',
    payer           text NOT NULL DEFAULT '',
    received_date   date NOT NULL,
    memo            text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'posted' CHECK (status IN ('posted', 'reversed')),
    refunded        bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    batch_id        bigint REFERENCES payment_batches (id),
    batch_line      integer,
    gateway         text NOT NULL DEFAULT '',
    gateway_charge  text NOT NULL DEFAULT '',
    journal_tx_id   bigint NOT NULL REFERENCES journal_transactions (id),
    posted_by       text NOT NULL DEFAULT '',
    posted_at       timestamptz NOT NULL,
    reversed_at     timestamptz,
    reversal_reason text NOT NULL DEFAULT ''
);
CREATE INDEX payments_account_idx ON payments (account_id, id);
CREATE UNIQUE INDEX payments_batch_line_idx ON payments (batch_id, batch_line) WHERE batch_id IS NOT NULL;
CREATE INDEX payments_check_idx ON payments (account_id, reference) WHERE method = 'check';

-- Which invoices a payment paid. Allocations of a reversed payment are
-- removed (the payment's journal reversal is the record).
CREATE TABLE payment_allocations (
    payment_id bigint NOT NULL REFERENCES payments (id),
    invoice_id bigint NOT NULL REFERENCES invoices (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (payment_id, invoice_id)
);
CREATE INDEX payment_allocations_invoice_idx ON payment_allocations (invoice_id);

-- +goose Down
DROP TABLE payment_allocations;
DROP TABLE payments;
DROP TABLE payment_batch_lines;
DROP FUNCTION payment_batch_lines_frozen;
DROP TABLE payment_batches;
