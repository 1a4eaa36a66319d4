package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const methodColumns = `id, account_id, gateway, token, customer, kind, brand, last4, exp_month, exp_year, bank_name,
	is_default, status, failure, created_at`

func scanMethod(row pgx.Row) (billing.StoredMethod, error) {
	var m billing.StoredMethod
	err := row.Scan(&m.ID, &m.AccountID, &m.Gateway, &m.Token, &m.Customer, &m.Kind, &m.Brand, &m.Last4, &m.ExpMonth,
		&m.ExpYear, &m.BankName, &m.Default, &m.Status, &m.Failure, &m.CreatedAt)
	return m, err
}

// AddPaymentMethod stores a tokenized payment method. The first method of
// an account, or one added with makeDefault, becomes the default. The same
// gateway token added again returns the stored method. ENOTFOUND for an
// unknown account.
func (db *DB) AddPaymentMethod(ctx context.Context, m billing.StoredMethod, makeDefault bool, at time.Time) (billing.StoredMethod, error) {
	var out billing.StoredMethod
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM payment_methods WHERE account_id = a.id AND status <> 'removed')
			FROM accounts a WHERE a.id = $1 FOR UPDATE`, m.AccountID).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "account %d does not exist", m.AccountID)
		}
		if err != nil {
			return err
		}
		if makeDefault || n == 0 {
			if _, err := tx.Exec(ctx, `UPDATE payment_methods SET is_default = false WHERE account_id = $1 AND is_default`, m.AccountID); err != nil {
				return err
			}
		}
		out, err = scanMethod(tx.QueryRow(ctx, `INSERT INTO payment_methods (account_id, gateway, token, customer, kind, brand, last4,
				exp_month, exp_year, bank_name, is_default, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (gateway, token) DO UPDATE SET status = 'active', removed_at = NULL
			RETURNING `+methodColumns, m.AccountID, m.Gateway, m.Token, m.Customer, m.Kind, m.Brand, m.Last4,
			m.ExpMonth, m.ExpYear, m.BankName, makeDefault || n == 0, at))
		return mapError(err)
	})
	return out, err
}

// PaymentMethod returns one method (any status); ENOTFOUND if missing.
func (db *DB) PaymentMethod(ctx context.Context, id int64) (billing.StoredMethod, error) {
	m, err := scanMethod(db.Pool.QueryRow(ctx, `SELECT `+methodColumns+` FROM payment_methods WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, billing.Errorf(billing.ENOTFOUND, "payment method %d does not exist", id)
	}
	return m, err
}

// PaymentMethods lists an account's methods on file (not removed), default
// first.
func (db *DB) PaymentMethods(ctx context.Context, accountID int64) ([]billing.StoredMethod, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+methodColumns+` FROM payment_methods
		WHERE account_id = $1 AND status <> 'removed' ORDER BY is_default DESC, id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.StoredMethod, error) { return scanMethod(r) })
}

// RemovePaymentMethod removes a method from the account (kept for the
// record). Removing the default turns autopay off. ENOTFOUND if the method
// is not the account's.
func (db *DB) RemovePaymentMethod(ctx context.Context, accountID, id int64, at time.Time) error {
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var wasDefault bool
		err := tx.QueryRow(ctx, `UPDATE payment_methods SET status = 'removed', removed_at = $3, is_default = false
			WHERE id = $1 AND account_id = $2 AND status <> 'removed'
			RETURNING (SELECT is_default FROM payment_methods WHERE id = $1)`, id, accountID, at).Scan(&wasDefault)
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "account %d has no payment method %d", accountID, id)
		}
		if err != nil || !wasDefault {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET autopay = false WHERE id = $1`, accountID)
		return err
	})
}

// SetDefaultPaymentMethod makes a method the account's default. ENOTFOUND
// if it is not the account's.
func (db *DB) SetDefaultPaymentMethod(ctx context.Context, accountID, id int64) error {
	return db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE payment_methods SET is_default = false WHERE account_id = $1 AND is_default`, accountID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE payment_methods SET is_default = true WHERE id = $1 AND account_id = $2 AND status <> 'removed'`, id, accountID)
		if err == nil && tag.RowsAffected() == 0 {
			return billing.Errorf(billing.ENOTFOUND, "account %d has no payment method %d", accountID, id)
		}
		return err
	})
}

// SetAutopay turns autopay on or off at at. Turning it on needs a default
// method on file (EINVALID otherwise) and records the day it was turned on
// (the account type's local date of at; kept when it was on already), from
// which invoices are covered ([billing.AutopayCovers]). ENOTFOUND for an
// unknown account.
func (db *DB) SetAutopay(ctx context.Context, accountID int64, on bool, at time.Time) error {
	if on {
		var ok bool
		if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payment_methods WHERE account_id = $1 AND is_default AND status <> 'removed')`,
			accountID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return billing.Errorf(billing.EINVALID, "account %d has no default payment method; add one before turning autopay on", accountID)
		}
	}
	tag, err := db.Pool.Exec(ctx, `UPDATE accounts a SET autopay = $2,
			autopay_since = CASE WHEN NOT $2 THEN NULL WHEN a.autopay THEN a.autopay_since ELSE ($3::timestamptz AT TIME ZONE t.time_zone)::date END
		FROM account_types t WHERE a.id = $1 AND t.id = a.account_type_id`, accountID, on, at)
	if err == nil && tag.RowsAffected() == 0 {
		return billing.Errorf(billing.ENOTFOUND, "account %d does not exist", accountID)
	}
	return err
}

const attemptColumns = `id, account_id, payment_method_id, amount, currency, trigger, gateway, charge_id, status, failure_code,
	failure_message, payment_id, invoice_id, attempt_no, idempotency_key, created_at, needs_attention, apply_to`

func scanAttempt(row pgx.Row) (billing.PaymentAttempt, error) {
	var a billing.PaymentAttempt
	err := row.Scan(&a.ID, &a.AccountID, &a.PaymentMethodID, &a.Amount, &a.Currency, &a.Trigger, &a.Gateway, &a.ChargeID,
		&a.Status, &a.FailureCode, &a.FailureMessage, &a.PaymentID, &a.InvoiceID, &a.AttemptNo, &a.IdempotencyKey, &a.CreatedAt, &a.NeedsAttention, &a.ApplyTo)
	return a, err
}

// PaymentAttempts lists an account's gateway attempts, newest first.
func (db *DB) PaymentAttempts(ctx context.Context, accountID int64) ([]billing.PaymentAttempt, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+attemptColumns+` FROM payment_attempts WHERE account_id = $1 ORDER BY id DESC LIMIT 500`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.PaymentAttempt, error) { return scanAttempt(r) })
}

// RecordWebhookEvent remembers a webhook delivery; it returns false when
// the event was seen before (a redelivery to ignore).
func (db *DB) RecordWebhookEvent(ctx context.Context, gateway, eventID, typ string, at time.Time) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `INSERT INTO webhook_events (gateway, event_id, type, received_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, gateway, eventID, typ, at)
	return err == nil && tag.RowsAffected() == 1, err
}

// ForgetWebhookEvent forgets a delivery whose action failed, so that the
// gateway's redelivery is acted on.
func (db *DB) ForgetWebhookEvent(ctx context.Context, gateway, eventID string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM webhook_events WHERE gateway = $1 AND event_id = $2`, gateway, eventID)
	return err
}

// AutopayCandidates lists the open invoices, due on or before date, of the
// autopay accounts of one account type that have a default method on file,
// with how many autopay attempts on each have failed so far. A closed
// account is never charged automatically (a payment to it would post as
// credit): staff collect its final invoice.
func (db *DB) AutopayCandidates(ctx context.Context, typeID int64, date billing.Date) ([]billing.AutopayCandidate, error) {
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.number, i.account_id, i.due_date,
			i.total - i.paid,
			(SELECT count(*) FROM payment_attempts pa WHERE pa.invoice_id = i.id AND pa.trigger = 'autopay' AND pa.status IN ('failed', 'error')),
			a.autopay_since,
			`+prefixed("m.", methodColumns)+`
		FROM invoices i
		JOIN accounts a ON a.id = i.account_id AND a.autopay AND a.account_type_id = $1 AND a.status <> 'closed'
		JOIN payment_methods m ON m.account_id = a.id AND m.is_default AND m.status <> 'removed'
		WHERE i.status = 'open' AND i.due_date <= $2
		AND NOT EXISTS (SELECT 1 FROM payment_attempts pa WHERE pa.invoice_id = i.id AND pa.status IN ('succeeded', 'pending', 'processing'))
		ORDER BY i.account_id, i.due_date, i.id`, typeID, pgDate(date))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AutopayCandidate, error) {
		var c billing.AutopayCandidate
		m := &c.Method
		err := r.Scan(&c.InvoiceID, &c.InvoiceNumber, &c.AccountID, scanDate(&c.DueDate), &c.Open, &c.FailedAttempts,
			scanDate(&c.AutopaySince), &m.ID, &m.AccountID, &m.Gateway, &m.Token, &m.Customer, &m.Kind, &m.Brand, &m.Last4, &m.ExpMonth,
			&m.ExpYear, &m.BankName, &m.Default, &m.Status, &m.Failure, &m.CreatedAt)
		return c, err
	})
}

// MarkMethodFailing flags a method the subscriber must replace (expired,
// declined), with why.
func (db *DB) MarkMethodFailing(ctx context.Context, id int64, why string) error {
	_, err := db.Pool.Exec(ctx, `UPDATE payment_methods SET status = 'failing', failure = $2 WHERE id = $1 AND status = 'active'`, id, why)
	return err
}

// prefixed qualifies every column of a comma-separated list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// attemptEffectsTx applies what an attempt's outcome does
// ([billing.EffectsOf]), inside tx: a success posts the payment
// (allocated, the account's status settled, its receipt queued as the
// account type's receipts_for says), returns it and sets a.PaymentID; a
// decline marks the method failing.
func (db *DB) attemptEffectsTx(ctx context.Context, tx pgx.Tx, a billing.PaymentAttempt, at time.Time) (billing.PaymentAttempt, *billing.Payment, error) {
	var kind string // the method's kind names a payment's method
	if err := tx.QueryRow(ctx, `SELECT kind FROM payment_methods WHERE id = $1`, a.PaymentMethodID).Scan(&kind); err != nil {
		return a, nil, err
	}
	fx := billing.EffectsOf(a, kind)
	var posted *billing.Payment
	if fx.Payment != nil {
		p, err := postPaymentTx(ctx, tx, *fx.Payment, "gateway:"+a.Gateway, at, nil, 0)
		if err != nil {
			return a, nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET gateway = $2, gateway_charge = $3 WHERE id = $1`, p.ID, a.Gateway, a.ChargeID); err != nil {
			return a, nil, err
		}
		a.PaymentID, posted = &p.ID, &p
		// A card payment that meets the reactivation rule restores service
		// before the charge call returns.
		if err := db.settleTx(ctx, tx, a.AccountID, billing.SettleCause{Kind: billing.CausePayment, PaymentID: p.ID}, "gateway:"+a.Gateway, at); err != nil {
			return a, nil, err
		}
		// Its receipt, e-mailed as the account type says for the channel.
		if err := db.queueReceiptTx(ctx, tx, a.AccountID, p.ID, a.PaymentMethodID, billing.ReceiptChannel(a.Trigger), at); err != nil {
			return a, nil, err
		}
	}
	switch fx.MethodStatus {
	case "active":
		if _, err := tx.Exec(ctx, `UPDATE payment_methods SET status = 'active', failure = '' WHERE id = $1 AND status = 'failing'`, a.PaymentMethodID); err != nil {
			return a, nil, err
		}
	case "failing":
		if _, err := tx.Exec(ctx, `UPDATE payment_methods SET status = 'failing', failure = $2 WHERE id = $1 AND status = 'active'`,
			a.PaymentMethodID, fx.Failure); err != nil {
			return a, nil, err
		}
	}
	return a, posted, nil
}
