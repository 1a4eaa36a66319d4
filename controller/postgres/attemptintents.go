package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// RecordAttemptIntent writes the gateway's intent id ("pi_…") on a pending
// charge attempt as its charge id, as soon as the intent exists and before
// it is confirmed, so that a webhook or recovery can find the attempt by
// it. An attempt that is no longer pending is left as it is. ENOTFOUND for
// an unknown attempt.
func (db *DB) RecordAttemptIntent(ctx context.Context, id int64, intentID string) (billing.PaymentAttempt, error) {
	a, err := scanAttempt(db.Pool.QueryRow(ctx, `UPDATE payment_attempts SET charge_id = $2
		WHERE id = $1 AND status = 'pending' AND charge_id IN ('', $2) RETURNING `+attemptColumns, id, intentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return db.PaymentAttempt(ctx, id)
	}
	return a, mapError(err)
}

// PaymentAttempt returns one charge attempt. ENOTFOUND for an unknown id.
func (db *DB) PaymentAttempt(ctx context.Context, id int64) (billing.PaymentAttempt, error) {
	a, err := scanAttempt(db.Pool.QueryRow(ctx, `SELECT `+attemptColumns+` FROM payment_attempts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, billing.Errorf(billing.ENOTFOUND, "payment attempt %d does not exist", id)
	}
	return a, err
}
