package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Gateway charges, the ledger first: BeginAttempt writes the attempt
// pending (with its idempotency key) before the gateway is called,
// FinishAttempt records the gateway's answer (posting the payment on
// success), and an attempt left pending by a crash or a lost answer is
// settled by the recovery job (PendingAttempts, then the charge re-sent
// with the same key, or FlagAttempt).

// BeginAttempt writes a pending attempt (a.Status is ignored) before the
// gateway is called. An attempt already recorded under a.IdempotencyKey is
// returned instead, with existing true: a retried request resumes it (if
// still pending) or gets its outcome. ECONFLICT when that attempt is for
// another account, method or amount.
func (db *DB) BeginAttempt(ctx context.Context, a billing.PaymentAttempt, at time.Time) (out billing.PaymentAttempt, existing bool, err error) {
	if a.IdempotencyKey == "" {
		return out, false, billing.Errorf(billing.EINVALID, "a gateway charge needs an idempotency key")
	}
	out, err = scanAttempt(db.Pool.QueryRow(ctx, `INSERT INTO payment_attempts (account_id, payment_method_id, amount, currency, trigger,
			gateway, status, invoice_id, attempt_no, idempotency_key, created_at, apply_to)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11)
		ON CONFLICT (idempotency_key) DO NOTHING RETURNING `+attemptColumns,
		a.AccountID, a.PaymentMethodID, a.Amount, a.Currency, a.Trigger, a.Gateway, a.InvoiceID, max(a.AttemptNo, 1), a.IdempotencyKey, at,
		applyToJSON(a.ApplyTo)))
	if err == nil {
		return out, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return out, false, mapError(err)
	}
	out, err = scanAttempt(db.Pool.QueryRow(ctx, `SELECT `+attemptColumns+` FROM payment_attempts WHERE idempotency_key = $1`, a.IdempotencyKey))
	if err != nil {
		return out, false, err
	}
	if out.AccountID != a.AccountID || out.PaymentMethodID != a.PaymentMethodID || out.Amount != a.Amount {
		return out, true, billing.Errorf(billing.ECONFLICT, "idempotency key was already used for another charge (attempt %d)", out.ID)
	}
	return out, true, nil
}

// FinishAttempt records the gateway's answer to a pending (or processing)
// attempt: outcome's Status (succeeded, failed, error, or processing for a
// charge the gateway settles later), ChargeID, FailureCode and
// FailureMessage. A success posts the payment in the same transaction. An
// attempt that is already final is returned as it is (a concurrent
// request or recovery finished it first). ENOTFOUND for an unknown attempt.
func (db *DB) FinishAttempt(ctx context.Context, id int64, outcome billing.PaymentAttempt, at time.Time) (billing.PaymentAttempt, error) {
	var a billing.PaymentAttempt
	var posted *billing.Payment
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		posted = nil
		var accountID int64
		if err := tx.QueryRow(ctx, `SELECT account_id FROM payment_attempts WHERE id = $1`, id).Scan(&accountID); errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "payment attempt %d does not exist", id)
		} else if err != nil {
			return err
		}
		// The account first, as payments lock it, then the attempt.
		if _, err := tx.Exec(ctx, lockAccountSQL, accountID); err != nil {
			return err
		}
		var err error
		a, err = scanAttempt(tx.QueryRow(ctx, `SELECT `+attemptColumns+` FROM payment_attempts WHERE id = $1 FOR UPDATE`, id))
		if err != nil || !a.Unsettled() {
			return err
		}
		a.Status, a.ChargeID, a.FailureCode, a.FailureMessage = outcome.Status, outcome.ChargeID, outcome.FailureCode, outcome.FailureMessage
		if a, posted, err = db.attemptEffectsTx(ctx, tx, a, at); err != nil {
			return err
		}
		a, err = scanAttempt(tx.QueryRow(ctx, `UPDATE payment_attempts SET status = $2, charge_id = $3, failure_code = $4,
				failure_message = $5, payment_id = $6, needs_attention = '',
				gateway_event_at = CASE WHEN $2 = 'succeeded' THEN coalesce(gateway_event_at, $7) ELSE gateway_event_at END
			WHERE id = $1 RETURNING `+attemptColumns,
			id, a.Status, a.ChargeID, a.FailureCode, clipText(a.FailureMessage, 1000), a.PaymentID, at))
		return mapError(err)
	})
	if err == nil && posted != nil {
		db.paymentPosted(posted.Method, posted.Currency, posted.Amount)
	}
	return a, err
}

// PendingAttempts returns up to limit attempts still pending that were
// created before createdBefore and are not flagged for staff, oldest
// first: the recovery job's work list.
func (db *DB) PendingAttempts(ctx context.Context, createdBefore time.Time, limit int) ([]billing.PaymentAttempt, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+attemptColumns+` FROM payment_attempts
		WHERE status = 'pending' AND needs_attention = '' AND created_at < $1 ORDER BY created_at, id LIMIT $2`, createdBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.PaymentAttempt, error) { return scanAttempt(r) })
}

// FlagAttempt marks a pending attempt as needing staff (reason says why).
// An attempt that is no longer pending is left as it is.
func (db *DB) FlagAttempt(ctx context.Context, id int64, reason string) error {
	_, err := db.Pool.Exec(ctx, `UPDATE payment_attempts SET needs_attention = $2 WHERE id = $1 AND status = 'pending'`, id, clipText(reason, 500))
	return err
}
