package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ApplyGatewayNews applies what a gateway reports about one of its charges
// (a webhook event, or what the lost-webhook job retrieved), as
// [billing.PlanGatewayEvent] decides from the charge's attempt and latest
// payment, in one transaction under the account's, the attempt's and the
// payment's locks: the attempt marked processing (a pending payment: not
// journaled, not allocated; pending_payments restore may restore service
// in the same transaction), succeeded with its payment posted, allocated
// and the account settled, or failed; the payment reversed (an ACH return
// as NSF, a dispute as a chargeback), posted again (a dispute won), or
// refunded on the ledger (a refund made in the gateway's dashboard,
// recorded with its gateway id so that it is recorded once).
//
// The charge is found by chargeID, or else by attemptID (the charge's
// tollgate_attempt_id metadata). It returns the plan applied (action
// nothing for a charge Tollgate does not know, or news that no longer
// fits). Errors: the database's; ECONFLICT (billing.ErrRefundPending) when
// a reversal waits for a refund in progress — the caller forgets the
// webhook event so that its redelivery acts.
func (db *DB) ApplyGatewayNews(ctx context.Context, gateway, chargeID, attemptID string, news billing.GatewayEvent, now time.Time) (billing.GatewayPlan, error) {
	var plan billing.GatewayPlan
	var posted *billing.Payment
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var c billing.GatewayCharge
		accountID, attemptRow, err := findGatewayCharge(ctx, tx, gateway, chargeID, attemptID)
		if err != nil || accountID == 0 {
			plan = billing.PlanGatewayEvent(c, news)
			return err
		}
		if _, err := tx.Exec(ctx, lockAccountSQL, accountID); err != nil {
			return err
		}
		if attemptRow != 0 {
			var settledAt *time.Time
			if c.Attempt, err = scanAttempt(prefixedRow{tx.QueryRow(ctx, `SELECT gateway_event_at, `+attemptColumns+`
				FROM payment_attempts WHERE id = $1 FOR UPDATE`, attemptRow), []any{&settledAt}}); err != nil {
				return err
			}
			if settledAt != nil {
				c.SettledAt = *settledAt
			}
			if chargeID == "" {
				chargeID = c.Attempt.ChargeID
			}
		}
		if c.Payment, c.Allocated, err = lockChargePayment(ctx, tx, gateway, chargeID); err != nil {
			return err
		}
		if c.Payment != nil {
			rows, err := tx.Query(ctx, `SELECT gateway_refund FROM refunds WHERE gateway = $1 AND gateway_charge = $2 AND gateway_refund <> ''`,
				gateway, chargeID)
			if err != nil {
				return err
			}
			if c.RecordedRefunds, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
		}
		plan = billing.PlanGatewayEvent(c, news)
		return db.applyGatewayPlan(ctx, tx, gateway, chargeID, c, news, plan, now, &posted)
	})
	if err == nil && posted != nil {
		db.paymentPosted(posted.Method, posted.Currency, posted.Amount)
	}
	return plan, err
}

// findGatewayCharge finds the account and the attempt (0: none) of a
// charge: its latest attempt by charge id, else the attempt named by the
// metadata, else its latest payment's account. accountID 0: unknown.
func findGatewayCharge(ctx context.Context, tx pgx.Tx, gateway, chargeID, attemptID string) (accountID, attempt int64, err error) {
	byID, _ := strconv.ParseInt(attemptID, 10, 64)
	err = tx.QueryRow(ctx, `SELECT account_id, id FROM payment_attempts
		WHERE gateway = $1 AND ((charge_id = $2 AND $2 <> '') OR (id = $3 AND (charge_id = '' OR charge_id = $2)))
		ORDER BY charge_id = $2 DESC, id DESC LIMIT 1`, gateway, chargeID, byID).Scan(&accountID, &attempt)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) || chargeID == "" {
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
		return accountID, attempt, err
	}
	err = tx.QueryRow(ctx, `SELECT account_id FROM payments WHERE gateway = $1 AND gateway_charge = $2 ORDER BY id DESC LIMIT 1`,
		gateway, chargeID).Scan(&accountID)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return accountID, 0, err
}

// lockChargePayment locks and returns a charge's latest payment (nil:
// none) with its allocations and allocated total.
func lockChargePayment(ctx context.Context, tx pgx.Tx, gateway, chargeID string) (*billing.Payment, int64, error) {
	if chargeID == "" {
		return nil, 0, nil
	}
	var allocated int64
	p, err := scanPayment(prefixedRow{tx.QueryRow(ctx, `SELECT allocated, `+paymentColumns+` FROM payments
		WHERE gateway = $1 AND gateway_charge = $2 ORDER BY id DESC LIMIT 1 FOR UPDATE`, gateway, chargeID), []any{&allocated}})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	rows, err := tx.Query(ctx, `SELECT a.invoice_id, i.number, a.amount FROM payment_allocations a
		JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY i.due_date, i.id`, p.ID)
	if err != nil {
		return nil, 0, err
	}
	if p.Allocations, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.Allocation]); err != nil {
		return nil, 0, err
	}
	return &p, allocated, nil
}

// applyGatewayPlan applies plan to charge c inside tx (the account, the
// attempt and the payment locked); a payment it posts goes into *posted.
func (db *DB) applyGatewayPlan(ctx context.Context, tx pgx.Tx, gateway, chargeID string, c billing.GatewayCharge, news billing.GatewayEvent,
	plan billing.GatewayPlan, now time.Time, posted **billing.Payment) error {
	by := "gateway:" + gateway
	a := c.Attempt
	var eventAt *time.Time
	if !news.At.IsZero() {
		eventAt = &news.At
	}
	switch plan.Action {
	case billing.GatewayMarkProcessing:
		if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET status = 'processing', charge_id = $2, needs_attention = '' WHERE id = $1`,
			a.ID, chargeID); err != nil {
			return err
		}
		// pending_payments restore restores service now.
		return db.settleTx(ctx, tx, a.AccountID, billing.SettleCause{Kind: billing.CausePendingPayment}, by, now)
	case billing.GatewayPost, billing.GatewayFail:
		a.Status, a.ChargeID, a.FailureCode, a.FailureMessage = plan.AttemptStatus, chargeID, plan.FailureCode, plan.FailureMessage
		var err error
		if a, *posted, err = db.attemptEffectsTx(ctx, tx, a, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE payment_attempts SET status = $2, charge_id = $3, failure_code = $4, failure_message = $5,
				payment_id = $6, gateway_event_at = $7, needs_attention = '' WHERE id = $1`,
			a.ID, a.Status, a.ChargeID, a.FailureCode, clipText(a.FailureMessage, 1000), a.PaymentID, eventAt)
		if err == nil && plan.Action == billing.GatewayFail && a.PaymentID == nil {
			// Held (or restored) on the pending payment: the next sweep
			// decides without it.
			err = db.settleTx(ctx, tx, a.AccountID, billing.SettleCause{Kind: billing.CausePendingPayment}, by, now)
		}
		return err
	case billing.GatewayReverse:
		err := db.reversePaymentTx(ctx, tx, c.Payment.ID, *plan.Reversal, by, now)
		if errors.Is(err, errRefundPending) {
			return fmt.Errorf("reverse payment %d later: %w", c.Payment.ID, err)
		}
		return err
	case billing.GatewayRepost:
		p := c.Payment
		np, err := postPaymentTx(ctx, tx, billing.NewPayment{AccountID: p.AccountID, Method: p.Method, Amount: plan.RepostAmount,
			Reference: p.Reference, Memo: fmt.Sprintf("dispute won: payment %d posted again", p.ID)}, by, now, nil, 0)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET gateway = $2, gateway_charge = $3 WHERE id = $1`, np.ID, gateway, chargeID); err != nil {
			return err
		}
		return db.settleTx(ctx, tx, p.AccountID, billing.SettleCause{Kind: billing.CausePayment, PaymentID: np.ID}, by, now)
	case billing.GatewayRefundAction:
		return db.recordGatewayRefundsTx(ctx, tx, gateway, chargeID, *c.Payment, plan, by, now)
	}
	return nil
}

// recordGatewayRefundsTx records refunds made at the gateway on the
// ledger: first the payment's allocations plan.Unallocate are taken back
// (the invoices open again for it), then each refund is a completed
// refund with its journal transaction and gateway id, then the account is
// settled.
func (db *DB) recordGatewayRefundsTx(ctx context.Context, tx pgx.Tx, gateway, chargeID string, p billing.Payment, plan billing.GatewayPlan, by string, now time.Time) error {
	var zone string
	if err := tx.QueryRow(ctx, `SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $1`,
		p.AccountID).Scan(&zone); err != nil {
		return err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	today := billing.DateIn(now, loc)
	invoices, amounts := make([]int64, len(plan.Unallocate)), make([]int64, len(plan.Unallocate))
	var taken int64
	for i, al := range plan.Unallocate {
		invoices[i], amounts[i] = al.InvoiceID, al.Amount
		taken += al.Amount
	}
	if len(invoices) > 0 {
		if _, err := tx.Exec(ctx, `WITH u AS (
				SELECT * FROM unnest($2::bigint[], $3::bigint[]) AS u(invoice_id, amount)
			), upd AS (
				UPDATE payment_allocations a SET amount = a.amount - u.amount FROM u WHERE a.payment_id = $1 AND a.invoice_id = u.invoice_id
			), ev AS (
				INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
				SELECT $1, invoice_id, -amount, 'reversed', $4, $5 FROM u
			)
			UPDATE invoices i SET paid = i.paid - u.amount, status = CASE WHEN i.status = 'paid' THEN 'open' ELSE i.status END
			FROM u WHERE i.id = u.invoice_id`, p.ID, invoices, amounts, pgDate(today), by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM payment_allocations WHERE payment_id = $1 AND amount = 0`, p.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET allocated = allocated - $2 WHERE id = $1`, p.ID, taken); err != nil {
			return err
		}
	}
	for _, r := range plan.Refunds {
		var refundID int64
		if err := tx.QueryRow(ctx, `INSERT INTO refunds (payment_id, account_id, amount, currency, memo, status, gateway, gateway_charge,
				gateway_refund, created_by, created_at)
			VALUES ($1, $2, $3, $4, 'refunded in the gateway''s dashboard', 'pending', $5, $6, $7, $8, $9) RETURNING id`,
			p.ID, p.AccountID, r.Amount, p.Currency, gateway, chargeID, r.ID, by, now).Scan(&refundID); err != nil {
			return mapError(err)
		}
		jt := billing.RefundTx(p.AccountID, p.Currency, r.Amount,
			fmt.Sprintf("refund %d of payment %d: refunded in the %s dashboard%s", refundID, p.ID, gateway, optional(" ", r.ID)), today)
		jt.PostedAt, jt.Actor = now, by
		jtID, err := postTx(ctx, tx, jt)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = 'completed', journal_tx_id = $2, resolved_at = $3 WHERE id = $1`,
			refundID, jtID, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET refunded = refunded + $2 WHERE id = $1`, p.ID, r.Amount); err != nil {
			return err
		}
	}
	// What the refund reopened is owed again (the settlement never
	// suspends: the next sweep does).
	return db.settleTx(ctx, tx, p.AccountID, billing.SettleCause{Kind: billing.CauseRefund, PaymentID: p.ID}, by, now)
}

// UnsettledIntents returns up to limit charge attempts whose outcome the
// gateway settles later and whose webhook may have been lost: processing,
// or pending with a gateway charge (an intent created, awaiting
// confirmation), created before createdBefore, not flagged for staff and
// not asked about since checkedBefore, least recently checked first: the
// lost-webhook job's work list. Errors: the database's only.
func (db *DB) UnsettledIntents(ctx context.Context, createdBefore, checkedBefore time.Time, limit int) ([]billing.PaymentAttempt, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+attemptColumns+` FROM payment_attempts
		WHERE (status = 'processing' OR (status = 'pending' AND charge_id <> '')) AND needs_attention = '' AND created_at < $1
			AND (checked_at IS NULL OR checked_at < $2)
		ORDER BY checked_at NULLS FIRST, created_at, id LIMIT $3`, createdBefore, checkedBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.PaymentAttempt, error) { return scanAttempt(r) })
}

// MarkIntentChecked records that the lost-webhook job asked the gateway
// about attempt id at at. Errors: the database's only.
func (db *DB) MarkIntentChecked(ctx context.Context, id int64, at time.Time) error {
	_, err := db.Pool.Exec(ctx, `UPDATE payment_attempts SET checked_at = $2 WHERE id = $1`, id, at)
	return err
}
