package postgres

import (
	"context"
	"errors"
	"time"

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

// QueueAuthenticationNotice queues the notice asking the subscriber to pay
// in the portal because autopay attempt id failed for want of their
// authentication (billing.AuthenticationNotice), with its job, in one
// transaction; false when the attempt is not such an attempt or the account
// has no e-mail address. ENOTFOUND for an unknown attempt.
func (db *DB) QueueAuthenticationNotice(ctx context.Context, id int64, now time.Time) (bool, error) {
	queued := false
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		a, err := scanAttempt(tx.QueryRow(ctx, `SELECT `+attemptColumns+` FROM payment_attempts WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "payment attempt %d does not exist", id)
		} else if err != nil {
			return err
		}
		var c billing.Contact
		var number string
		var balance int64
		if err := tx.QueryRow(ctx, `SELECT a.email, a.name, a.number, COALESCE(b.balance, 0)
			FROM accounts a LEFT JOIN account_balances b ON b.account_id = a.id WHERE a.id = $1`, a.AccountID).Scan(&c.Email, &c.Name, &number, &balance); err != nil {
			return err
		}
		n, ok := billing.AuthenticationNotice(a, number, balance, c)
		if !ok {
			return nil
		}
		queued, err = db.QueueNoticeTx(ctx, tx, n, now)
		return err
	})
	return queued, err
}
