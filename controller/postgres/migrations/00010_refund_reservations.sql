-- +goose Up

-- Refunds, reserved before the gateway is asked (issue 14 §1). A card/ACH
-- refund is first a pending row whose amount is reserved on its payment
-- (payments.refund_reserved: no other refund and no invoice can take it),
-- then the gateway is called with the row's idempotency key and its id as
-- metadata tollgate_refund_id, then the row is completed (journal posted,
-- payments.refunded raised) or released. A refund left pending by a crash
-- is settled by the refund recovery job, which finds it at the gateway.
ALTER TABLE payments ADD COLUMN refund_reserved bigint NOT NULL DEFAULT 0
    CHECK (refund_reserved >= 0 AND refunded + refund_reserved <= amount);

CREATE TABLE refunds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id      bigint NOT NULL REFERENCES payments (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL,
    memo            text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('pending', 'completed', 'released')),
    -- The key the gateway is called with; NULL for refunds of manual
    -- payments, which need no gateway.
    idempotency_key text UNIQUE,
    gateway         text NOT NULL DEFAULT '',
    gateway_charge  text NOT NULL DEFAULT '',
    gateway_refund  text NOT NULL DEFAULT '',
    release_reason  text NOT NULL DEFAULT '',
    -- Set when recovery cannot settle the refund on its own (key too old
    -- to replay, no refund with its id at the gateway): staff decide.
    needs_attention text NOT NULL DEFAULT '',
    journal_tx_id   bigint REFERENCES journal_transactions (id),
    created_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    resolved_at     timestamptz,
    CHECK ((status = 'completed') = (journal_tx_id IS NOT NULL))
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, id);
CREATE INDEX refunds_pending_idx ON refunds (created_at) WHERE status = 'pending';

-- Gateway charges the same way: the attempt is written pending (with its
-- idempotency key) before the gateway is called, then finished; a pending
-- attempt is settled by the recovery job (the charge re-sent with the same
-- key while it is younger than 23 h, else flagged for staff).
ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_status_check;
-- processing: the gateway accepted the charge and settles it later (ACH);
-- its charge.succeeded / charge.failed webhook finishes the attempt.
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_status_check
    CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'error'));
ALTER TABLE payment_attempts ADD COLUMN needs_attention text NOT NULL DEFAULT '';
CREATE INDEX payment_attempts_pending_idx ON payment_attempts (created_at) WHERE status = 'pending';
CREATE INDEX payment_attempts_charge_idx ON payment_attempts (gateway, charge_id) WHERE status = 'processing';

-- +goose Down
DROP INDEX payment_attempts_charge_idx;
DROP INDEX payment_attempts_pending_idx;
ALTER TABLE payment_attempts DROP COLUMN needs_attention;
DELETE FROM payment_attempts WHERE status IN ('pending', 'processing');
ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_status_check;
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_status_check CHECK (status IN ('succeeded', 'failed', 'error'));
DROP TABLE refunds;
ALTER TABLE payments DROP COLUMN refund_reserved;
