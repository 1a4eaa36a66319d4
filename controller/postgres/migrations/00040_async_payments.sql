-- +goose Up

-- Asynchronous gateway payments (issue 19): a charge attempt is found by
-- its gateway charge (PaymentIntent) whatever its status, since events
-- about it come in any order and after it is settled; gateway_event_at is
-- when the gateway created the event that settled it (a failure older than
-- that is an earlier try's, delivered late); checked_at is when the
-- lost-webhook job last asked the gateway about it. The account types'
-- pending_payments setting (ignore, hold, restore) lives in their settings
-- (JSON) like every other billing setting.
ALTER TABLE payment_attempts ADD COLUMN gateway_event_at timestamptz;
ALTER TABLE payment_attempts ADD COLUMN checked_at timestamptz;
CREATE INDEX payment_attempts_gateway_charge_idx ON payment_attempts (gateway, charge_id, id) WHERE charge_id <> '';
CREATE INDEX payment_attempts_processing_idx ON payment_attempts (created_at) WHERE status = 'processing';
-- The sweep's pending payments of an account (billing.Standing.Pending).
CREATE INDEX payment_attempts_processing_account_idx ON payment_attempts (account_id) WHERE status = 'processing';
-- A charge's payments (a dispute won posts it again) and refunds.
CREATE INDEX payments_gateway_charge_idx ON payments (gateway, gateway_charge, id) WHERE gateway_charge <> '';
CREATE INDEX refunds_gateway_charge_idx ON refunds (gateway, gateway_charge) WHERE gateway_refund <> '';

-- +goose Down
DROP INDEX refunds_gateway_charge_idx;
DROP INDEX payments_gateway_charge_idx;
DROP INDEX payment_attempts_processing_account_idx;
DROP INDEX payment_attempts_processing_idx;
DROP INDEX payment_attempts_gateway_charge_idx;
ALTER TABLE payment_attempts DROP COLUMN checked_at;
ALTER TABLE payment_attempts DROP COLUMN gateway_event_at;
