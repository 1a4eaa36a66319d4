package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Refunds, the ledger first and the gateway second.
//
// A card/ACH refund is three steps: ReserveRefund (one transaction under
// the account's and the payment's locks: validate the amount against what
// is refundable, write a pending refund, reserve its amount on the
// payment), the gateway call (with the refund's idempotency key and its id
// as metadata), then CompleteRefund (journal) or ReleaseRefund. A refund
// left pending by a crash is found by PendingRefunds and settled by the
// refund recovery job (controller/jobs). Refunds of manual payments need no
// gateway and are completed in one transaction by RefundPayment.

// errRefundPending is matched (errors.Is) by errors that refuse something
// because a refund of the payment is in progress.
var errRefundPending = billing.ErrRefundPending

const refundColumns = `id, payment_id, account_id, amount, currency, memo, status, coalesce(idempotency_key, ''), gateway,
	gateway_charge, gateway_refund, release_reason, needs_attention, created_by, created_at, resolved_at`

func scanRefund(row pgx.Row) (billing.Refund, error) {
	var r billing.Refund
	err := row.Scan(&r.ID, &r.PaymentID, &r.AccountID, &r.Amount, &r.Currency, &r.Memo, &r.Status, &r.IdempotencyKey, &r.Gateway,
		&r.GatewayCharge, &r.GatewayRefund, &r.ReleaseReason, &r.NeedsAttention, &r.CreatedBy, &r.CreatedAt, &r.ResolvedAt)
	return r, err
}

// lockPaymentForRefund locks the payment's account, then the payment (the
// order allocation uses), and returns the payment with its zone.
func lockPaymentForRefund(ctx context.Context, tx pgx.Tx, paymentID int64) (billing.Payment, *time.Location, error) {
	var accountID int64
	if err := tx.QueryRow(ctx, `SELECT account_id FROM payments WHERE id = $1`, paymentID).Scan(&accountID); errors.Is(err, pgx.ErrNoRows) {
		return billing.Payment{}, nil, billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", paymentID)
	} else if err != nil {
		return billing.Payment{}, nil, err
	}
	var zone string
	if err := tx.QueryRow(ctx, `SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id
		WHERE a.id = $1 FOR UPDATE OF a`, accountID).Scan(&zone); err != nil {
		return billing.Payment{}, nil, err
	}
	p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1 FOR UPDATE`, paymentID))
	if err != nil {
		return p, nil, err
	}
	loc, err := time.LoadLocation(zone)
	return p, loc, err
}

// checkRefundable refuses a refund of amount from a locked payment as
// [billing.CheckRefundable] decides, with the payment's allocated total.
func checkRefundable(ctx context.Context, tx pgx.Tx, p billing.Payment, amount int64) error {
	var allocated int64
	if err := tx.QueryRow(ctx, `SELECT allocated FROM payments WHERE id = $1`, p.ID).Scan(&allocated); err != nil {
		return err
	}
	return billing.CheckRefundable(p, allocated, amount)
}

// ReserveRefund is the first step of a gateway refund: in one transaction
// under the account's and the payment's locks it validates the request
// against what is refundable and writes a pending refund whose amount is
// reserved on the payment, so nothing else — another refund, an invoice —
// can take it. A request whose IdempotencyKey already has a refund returns
// that refund (any status) with existing true, so a retried request
// resumes it; the same key for another payment or amount is ECONFLICT.
// Errors: EINVALID (bad request, more than refundable, a payment that did
// not come through a gateway), ENOTFOUND, ECONFLICT (reversed payment).
func (db *DB) ReserveRefund(ctx context.Context, in billing.RefundRequest, by string, now time.Time) (r billing.Refund, existing bool, err error) {
	if err := in.Validate(); err != nil {
		return r, false, err
	}
	if in.IdempotencyKey == "" {
		return r, false, billing.Errorf(billing.EINVALID, "a gateway refund needs an idempotency key")
	}
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		p, _, err := lockPaymentForRefund(ctx, tx, in.PaymentID)
		if err != nil {
			return err
		}
		// Under the payment's lock: a concurrent request with the same key
		// has either committed its refund or not started.
		prev, err := scanRefund(tx.QueryRow(ctx, `SELECT `+refundColumns+` FROM refunds WHERE idempotency_key = $1`, in.IdempotencyKey))
		switch {
		case err == nil:
			if prev.PaymentID != in.PaymentID || prev.Amount != in.Amount || prev.Memo != in.Memo {
				return billing.Errorf(billing.ECONFLICT, "idempotency key was already used for another refund (%d)", prev.ID)
			}
			r, existing = prev, true
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if p.Gateway == "" || p.GatewayCharge == "" {
			return billing.Errorf(billing.EINVALID, "payment %d did not come through a payment gateway", p.ID)
		}
		r, err = reserveRefundTx(ctx, tx, p, in, by, now)
		return err
	})
	return r, existing, err
}

// reserveRefundTx writes a pending gateway refund of payment p (locked by
// the caller, with its account) and reserves its amount on the payment,
// after checking it is refundable.
func reserveRefundTx(ctx context.Context, tx pgx.Tx, p billing.Payment, in billing.RefundRequest, by string, now time.Time) (billing.Refund, error) {
	if err := checkRefundable(ctx, tx, p, in.Amount); err != nil {
		return billing.Refund{}, err
	}
	r, err := scanRefund(tx.QueryRow(ctx, `INSERT INTO refunds (payment_id, account_id, amount, currency, memo, status,
			idempotency_key, gateway, gateway_charge, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10) RETURNING `+refundColumns,
		p.ID, p.AccountID, in.Amount, p.Currency, in.Memo, in.IdempotencyKey, p.Gateway, p.GatewayCharge, by, now))
	if err != nil {
		return r, mapError(err)
	}
	_, err = tx.Exec(ctx, `UPDATE payments SET refund_reserved = refund_reserved + $2 WHERE id = $1`, p.ID, in.Amount)
	return r, err
}

// CompleteRefund is the last step of a refund the gateway made
// (gatewayRefund is its id): the refund's journal transaction is posted,
// the payment's refunded total raised and its reservation dropped, in one
// transaction. Completing a completed refund is a no-op returning it;
// ECONFLICT for a released refund; ENOTFOUND for an unknown one.
func (db *DB) CompleteRefund(ctx context.Context, id int64, gatewayRefund string, now time.Time) (billing.Refund, error) {
	var out billing.Refund
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		r, err := db.lockedRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		switch r.Status {
		case billing.RefundCompleted:
			out = r
			return nil
		case billing.RefundReleased:
			return billing.Errorf(billing.ECONFLICT, "refund %d was released (%s); it cannot be completed", id, r.ReleaseReason)
		}
		_, loc, err := lockPaymentForRefund(ctx, tx, r.PaymentID)
		if err != nil {
			return err
		}
		jt := billing.RefundTx(r.AccountID, r.Currency, r.Amount, fmt.Sprintf("refund %d of payment %d%s", r.ID, r.PaymentID, optional(": ", r.Memo)),
			billing.DateIn(now, loc))
		jt.PostedAt, jt.Actor = now, r.CreatedBy
		jtID, err := postTx(ctx, tx, jt)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET refunded = refunded + $2, refund_reserved = refund_reserved - $2 WHERE id = $1`,
			r.PaymentID, r.Amount); err != nil {
			return err
		}
		out, err = scanRefund(tx.QueryRow(ctx, `UPDATE refunds SET status = 'completed', gateway_refund = $2, journal_tx_id = $3,
			resolved_at = $4, needs_attention = '' WHERE id = $1 RETURNING `+refundColumns, id, gatewayRefund, jtID, now))
		return err
	})
	return out, err
}

// ReleaseRefund drops a pending refund the gateway did not make (it refused
// the request, or the refund failed): its reservation goes back to the
// payment's credit, and reason is kept. Releasing a released refund is a
// no-op returning it; ECONFLICT for a completed refund; ENOTFOUND for an
// unknown one.
func (db *DB) ReleaseRefund(ctx context.Context, id int64, reason string, now time.Time) (billing.Refund, error) {
	var out billing.Refund
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		r, err := db.lockedRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		switch r.Status {
		case billing.RefundReleased:
			out = r
			return nil
		case billing.RefundCompleted:
			return billing.Errorf(billing.ECONFLICT, "refund %d is completed; it cannot be released", id)
		}
		if _, _, err := lockPaymentForRefund(ctx, tx, r.PaymentID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET refund_reserved = refund_reserved - $2 WHERE id = $1`, r.PaymentID, r.Amount); err != nil {
			return err
		}
		out, err = scanRefund(tx.QueryRow(ctx, `UPDATE refunds SET status = 'released', release_reason = $2, resolved_at = $3,
			needs_attention = '' WHERE id = $1 RETURNING `+refundColumns, id, clipText(reason, 500), now))
		return err
	})
	return out, err
}

// FlagRefund marks a pending refund as needing staff (reason says why);
// it stays pending, its amount reserved. ENOTFOUND for an unknown refund;
// a refund that is no longer pending is left as it is.
func (db *DB) FlagRefund(ctx context.Context, id int64, reason string) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE refunds SET needs_attention = $2 WHERE id = $1 AND status = 'pending'`, id, clipText(reason, 500))
	if err == nil && tag.RowsAffected() == 0 {
		if _, err := db.Refund(ctx, id); err != nil {
			return err
		}
	}
	return err
}

// lockedRefund reads a refund FOR UPDATE. ENOTFOUND when missing.
func (db *DB) lockedRefund(ctx context.Context, tx pgx.Tx, id int64) (billing.Refund, error) {
	r, err := scanRefund(tx.QueryRow(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, billing.Errorf(billing.ENOTFOUND, "refund %d does not exist", id)
	}
	return r, err
}

// Refund returns one refund; ENOTFOUND when missing.
func (db *DB) Refund(ctx context.Context, id int64) (billing.Refund, error) {
	r, err := scanRefund(db.Pool.QueryRow(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, billing.Errorf(billing.ENOTFOUND, "refund %d does not exist", id)
	}
	return r, err
}

// Refunds lists refunds in id order.
func (db *DB) Refunds(ctx context.Context, f billing.RefundFilter) ([]billing.Refund, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+refundColumns+` FROM refunds
		WHERE ($1 = 0 OR payment_id = $1) AND ($2 = '' OR status = $2) AND (NOT $3 OR needs_attention <> '') AND id > $4
		ORDER BY id LIMIT $5`, f.PaymentID, string(f.Status), f.NeedsAttention, f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Refund, error) { return scanRefund(r) })
}

// PendingRefunds returns up to limit gateway refunds still pending that
// were created before createdBefore and are not flagged for staff, oldest
// first: the refund recovery job's work list.
func (db *DB) PendingRefunds(ctx context.Context, createdBefore time.Time, limit int) ([]billing.Refund, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+refundColumns+` FROM refunds
		WHERE status = 'pending' AND needs_attention = '' AND created_at < $1 ORDER BY created_at, id LIMIT $2`, createdBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Refund, error) { return scanRefund(r) })
}

// RefundPayment refunds part of a manual (check, cash, wire, money order,
// other) payment's unapplied credit: no gateway is involved, so the refund
// is written completed, with its journal transaction, in one transaction.
// Card and ACH payments are refunded through ReserveRefund instead.
// EINVALID for a bad request, more than is refundable or a gateway
// payment; ENOTFOUND; ECONFLICT if reversed.
func (db *DB) RefundPayment(ctx context.Context, id, amount int64, memo, by string, now time.Time) (billing.Payment, error) {
	if err := (billing.RefundRequest{PaymentID: id, Amount: amount, Memo: memo}).Validate(); err != nil {
		return billing.Payment{}, err
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		p, loc, err := lockPaymentForRefund(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Gateway != "" && p.GatewayCharge != "" {
			return billing.Errorf(billing.EINVALID, "payment %d came through the %s gateway; its refund goes back through the gateway", id, p.Gateway)
		}
		_, err = refundManualTx(ctx, tx, p, amount, memo, by, now, billing.DateIn(now, loc))
		return err
	})
	if err != nil {
		return billing.Payment{}, err
	}
	return db.Payment(ctx, id)
}

// refundManualTx refunds amount of manual payment p (locked by the caller,
// with its account): a completed refund with its journal transaction,
// effective on day. It returns the refund's id.
func refundManualTx(ctx context.Context, tx pgx.Tx, p billing.Payment, amount int64, memo, by string, now time.Time, day billing.Date) (int64, error) {
	if err := checkRefundable(ctx, tx, p, amount); err != nil {
		return 0, err
	}
	var refundID int64
	if err := tx.QueryRow(ctx, `INSERT INTO refunds (payment_id, account_id, amount, currency, memo, status, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id`, p.ID, p.AccountID, amount, p.Currency, memo, by, now).Scan(&refundID); err != nil {
		return 0, mapError(err)
	}
	jt := billing.RefundTx(p.AccountID, p.Currency, amount, fmt.Sprintf("refund %d of payment %d%s", refundID, p.ID, optional(": ", memo)), day)
	jt.PostedAt, jt.Actor = now, by
	jtID, err := postTx(ctx, tx, jt)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE refunds SET status = 'completed', journal_tx_id = $2, resolved_at = $3 WHERE id = $1`,
		refundID, jtID, now); err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx, `UPDATE payments SET refunded = refunded + $2 WHERE id = $1`, p.ID, amount)
	return refundID, err
}

// clipText shortens s to at most n bytes without splitting a character.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
