package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const paymentColumns = `id, account_id, method, amount, currency, reference, payer, received_date, memo, status, refunded,
	batch_id, posted_by, posted_at, reversed_at, reversal_reason, gateway, gateway_charge`

func scanPayment(row pgx.Row) (billing.Payment, error) {
	var p billing.Payment
	err := row.Scan(&p.ID, &p.AccountID, &p.Method, &p.Amount, &p.Currency, &p.Reference, &p.Payer, scanDate(&p.ReceivedDate),
		&p.Memo, &p.Status, &p.Refunded, &p.BatchID, &p.PostedBy, &p.PostedAt, &p.ReversedAt, &p.ReversalNote, &p.Gateway, &p.GatewayCharge)
	return p, err
}

// PostPayment posts a payment to an account in one transaction: the journal
// transaction, the payment, and its allocation to the oldest open invoices
// (overpayment stays on the account as credit). EINVALID names a bad field;
// ENOTFOUND if the account does not exist.
func (db *DB) PostPayment(ctx context.Context, in billing.NewPayment, by string, now time.Time) (billing.Payment, error) {
	var p billing.Payment
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		p, err = postPaymentTx(ctx, tx, in, by, now, nil, 0)
		return err
	})
	return p, err
}

// postPaymentTx posts one payment inside tx. The account row is locked
// first, so concurrent payments to one account allocate one after another.
func postPaymentTx(ctx context.Context, tx pgx.Tx, in billing.NewPayment, by string, now time.Time, batchID *int64, batchLine int) (billing.Payment, error) {
	if err := in.Validate(); err != nil {
		return billing.Payment{}, err
	}
	var cur billing.Currency
	var zone string
	err := tx.QueryRow(ctx, `SELECT a.currency, t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id
		WHERE a.id = $1 FOR UPDATE OF a`, in.AccountID).Scan(&cur, &zone)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Payment{}, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", in.AccountID)
	}
	if err != nil {
		return billing.Payment{}, err
	}
	if in.ReceivedDate.IsZero() {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return billing.Payment{}, err
		}
		in.ReceivedDate = billing.DateIn(now, loc)
	}
	memo := fmt.Sprintf("%s payment", in.Method)
	if in.Reference != "" {
		memo += " " + in.Reference
	}
	jt := billing.PaymentTx(in.AccountID, cur, in.Amount, memo, in.ReceivedDate)
	if err := jt.Validate(); err != nil {
		return billing.Payment{}, err
	}
	var line any
	if batchID != nil {
		line = batchLine
	}
	// One statement: the journal transaction, its entries (the balance
	// trigger checks them at its end) and the payment.
	p, err := scanPayment(tx.QueryRow(ctx, `WITH t AS (
			INSERT INTO journal_transactions (kind, account_id, currency, memo, effective_date, posted_at)
			VALUES ($13, $1, $4, $14, $7, $12) RETURNING id
		), e AS (
			INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, u.no, $1, u.ledger, u.amount FROM t, unnest($15::smallint[], $16::text[], $17::bigint[]) AS u(no, ledger, amount)
		)
		INSERT INTO payments (account_id, method, amount, currency, reference, payer,
			received_date, memo, batch_id, batch_line, journal_tx_id, posted_by, posted_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, t.id, $11, $12 FROM t RETURNING `+paymentColumns,
		in.AccountID, in.Method, in.Amount, cur, in.Reference, in.Payer, pgDate(in.ReceivedDate), in.Memo, batchID, line,
		by, now, jt.Kind, jt.Memo,
		[]int16{1, 2}, []string{jt.Entries[0].Ledger, jt.Entries[1].Ledger}, []int64{jt.Entries[0].Amount, jt.Entries[1].Amount}))
	if err != nil {
		return p, mapError(err)
	}
	allocs, err := allocate(ctx, tx, in.AccountID)
	p.Allocations = []billing.Allocation{}
	p.Unallocated = p.Amount
	for _, a := range allocs {
		if a.payment == p.ID {
			p.Allocations = append(p.Allocations, a.Allocation)
			p.Unallocated -= a.Amount
		}
	}
	return p, err
}

// allocate applies the unallocated payment amounts of the given accounts
// to their open invoices, oldest due first, and marks fully paid invoices
// paid: two statements however many accounts. The caller holds the
// accounts' row locks. It returns the allocations it made.
func allocate(ctx context.Context, tx pgx.Tx, accountIDs ...int64) ([]allocation, error) {
	type open struct {
		Credit      bool
		Account, ID int64
		Amount      int64
		Number      string
	}
	// Credits (payments with an unallocated part) and open invoices in one
	// round trip, each ordered by account, then payment id or due date.
	rows, err := tx.Query(ctx, `
		(SELECT true, p.account_id, p.id, p.amount - p.refunded - coalesce(sum(a.amount), 0), ''
		FROM payments p LEFT JOIN payment_allocations a ON a.payment_id = p.id
		WHERE p.account_id = ANY($1) AND p.status = 'posted'
		GROUP BY p.id HAVING p.amount - p.refunded - coalesce(sum(a.amount), 0) > 0 ORDER BY p.account_id, p.id)
		UNION ALL
		(SELECT false, i.account_id, i.id, i.total - coalesce(sum(a.amount), 0), i.number
		FROM invoices i LEFT JOIN payment_allocations a ON a.invoice_id = i.id
		WHERE i.account_id = ANY($1) AND i.status = 'open'
		GROUP BY i.id HAVING i.total - coalesce(sum(a.amount), 0) > 0 ORDER BY i.account_id, i.due_date, i.id)`, accountIDs)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[open])
	if err != nil {
		return nil, err
	}
	var credits, invoices []open
	for _, o := range all {
		if o.Credit {
			credits = append(credits, o)
		} else {
			invoices = append(invoices, o)
		}
	}
	if len(credits) == 0 || len(invoices) == 0 {
		return nil, nil
	}
	// Both lists are ordered by account: walk them together.
	var out []allocation
	var paid []int64
	ci := 0
	for ii := 0; ii < len(invoices); {
		acct := invoices[ii].Account
		for ci < len(credits) && credits[ci].Account < acct {
			ci++
		}
		for ; ii < len(invoices) && invoices[ii].Account == acct; ii++ {
			inv := invoices[ii]
			need := inv.Amount
			for need > 0 && ci < len(credits) && credits[ci].Account == acct {
				take := min(need, credits[ci].Amount)
				out = append(out, allocation{payment: credits[ci].ID, Allocation: billing.Allocation{InvoiceID: inv.ID, InvoiceNumber: inv.Number, Amount: take}})
				need -= take
				if credits[ci].Amount -= take; credits[ci].Amount == 0 {
					ci++
				}
			}
			if need == 0 {
				paid = append(paid, inv.ID)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	payIDs, invIDs, amounts := make([]int64, len(out)), make([]int64, len(out)), make([]int64, len(out))
	for i, a := range out {
		payIDs[i], invIDs[i], amounts[i] = a.payment, a.InvoiceID, a.Amount
	}
	_, err = tx.Exec(ctx, `WITH ins AS (
			INSERT INTO payment_allocations (payment_id, invoice_id, amount)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
			ON CONFLICT (payment_id, invoice_id) DO UPDATE SET amount = payment_allocations.amount + EXCLUDED.amount
		)
		UPDATE invoices SET status = 'paid' WHERE id = ANY($4)`, payIDs, invIDs, amounts, paid)
	return out, err
}

// allocation is one allocation made by allocate, with its payment.
type allocation struct {
	payment int64
	billing.Allocation
}

// Payment returns a payment with its allocations; ENOTFOUND if missing.
func (db *DB) Payment(ctx context.Context, id int64) (billing.Payment, error) {
	p, err := scanPayment(db.Pool.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", id)
	}
	if err != nil {
		return p, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT a.invoice_id, i.number, a.amount FROM payment_allocations a
		JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY i.due_date, i.id`, id)
	if err != nil {
		return p, err
	}
	p.Allocations, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.Allocation])
	if p.Allocations == nil {
		p.Allocations = []billing.Allocation{}
	}
	allocated := int64(0)
	for _, a := range p.Allocations {
		allocated += a.Amount
	}
	if p.Status == billing.PaymentPosted {
		p.Unallocated = p.Amount - p.Refunded - allocated
	}
	return p, err
}

// Payments lists payments (without allocations) in id order.
func (db *DB) Payments(ctx context.Context, accountID, batchID, afterID int64, limit int) ([]billing.Payment, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE ($1 = 0 OR account_id = $1) AND ($2 = 0 OR batch_id = $2) AND id > $3 ORDER BY id LIMIT $4`,
		accountID, batchID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Payment, error) { return scanPayment(r) })
}

// ReversePayment reverses a posted payment (a returned check, a chargeback,
// an entry error): a reversing journal transaction for what was not
// refunded, an optional returned-payment fee, its allocations removed and
// the invoices it paid reopened, then the account's other credit
// re-allocated. AfterReversal, if set, runs in the same transaction (the
// delinquency hook). ENOTFOUND, EINVALID; ECONFLICT if already reversed.
func (db *DB) ReversePayment(ctx context.Context, id int64, r billing.Reversal, by string, now time.Time) (billing.Payment, error) {
	if err := r.Validate(); err != nil {
		return billing.Payment{}, err
	}
	var accountID int64
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT account_id FROM payments WHERE id = $1`, id).Scan(&accountID); errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", id)
		} else if err != nil {
			return err
		}
		var zone string
		if err := tx.QueryRow(ctx, `SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id
			WHERE a.id = $1 FOR UPDATE OF a`, accountID).Scan(&zone); err != nil {
			return err
		}
		p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if p.Status != billing.PaymentPosted {
			return billing.Errorf(billing.ECONFLICT, "payment %d is already %s", id, p.Status)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return err
		}
		today := billing.DateIn(now, loc)
		memo := fmt.Sprintf("payment %d reversed (%s)", id, r.Reason)
		if r.Memo != "" {
			memo += ": " + r.Memo
		}
		if amount := p.Amount - p.Refunded; amount > 0 {
			jt := billing.PaymentReversalTx(accountID, p.Currency, amount, memo, today)
			jt.PostedAt = now
			if _, err := postTx(ctx, tx, jt); err != nil {
				return err
			}
		}
		if r.Fee > 0 {
			jt := billing.FeeTx(accountID, p.Currency, r.Fee, fmt.Sprintf("returned payment fee (payment %d)", id), today)
			jt.PostedAt = now
			if _, err := postTx(ctx, tx, jt); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE invoices SET status = 'open'
			WHERE status = 'paid' AND id IN (SELECT invoice_id FROM payment_allocations WHERE payment_id = $1)`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM payment_allocations WHERE payment_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'reversed', reversed_at = $2, reversal_reason = $3 WHERE id = $1`,
			id, now, string(r.Reason)+optional(": ", r.Memo)); err != nil {
			return err
		}
		if _, err := allocate(ctx, tx, accountID); err != nil {
			return err
		}
		if db.AfterReversal != nil {
			return db.AfterReversal(ctx, tx, accountID)
		}
		return nil
	})
	if err != nil {
		return billing.Payment{}, err
	}
	return db.Payment(ctx, id)
}

// RefundPayment records money paid back out of a payment's unallocated
// (credit) part. Card and ACH refunds go through the gateway first.
// EINVALID if amount exceeds the unallocated part; ECONFLICT if reversed.
func (db *DB) RefundPayment(ctx context.Context, id, amount int64, memo, by string, now time.Time) (billing.Payment, error) {
	if amount <= 0 {
		return billing.Payment{}, billing.Errorf(billing.EINVALID, "amount %d must be positive (minor units)", amount)
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var accountID int64
		if err := tx.QueryRow(ctx, `SELECT account_id FROM payments WHERE id = $1`, id).Scan(&accountID); errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", id)
		} else if err != nil {
			return err
		}
		var zone string
		if err := tx.QueryRow(ctx, `SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id
			WHERE a.id = $1 FOR UPDATE OF a`, accountID).Scan(&zone); err != nil {
			return err
		}
		var status billing.PaymentStatus
		var cur billing.Currency
		var unallocated int64
		err := tx.QueryRow(ctx, `SELECT p.status, p.currency, p.amount - p.refunded - coalesce((SELECT sum(amount) FROM payment_allocations WHERE payment_id = p.id), 0)
			FROM payments p WHERE p.id = $1 FOR UPDATE`, id).Scan(&status, &cur, &unallocated)
		if err != nil {
			return err
		}
		if status != billing.PaymentPosted {
			return billing.Errorf(billing.ECONFLICT, "payment %d is %s; it cannot be refunded", id, status)
		}
		if amount > unallocated {
			return billing.Errorf(billing.EINVALID, "amount %d is more than the payment's unapplied credit (%d); reverse the payment instead", amount, unallocated)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return err
		}
		jt := billing.RefundTx(accountID, cur, amount, fmt.Sprintf("refund of payment %d%s", id, optional(": ", memo)), billing.DateIn(now, loc))
		jt.PostedAt = now
		if _, err := postTx(ctx, tx, jt); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE payments SET refunded = refunded + $2 WHERE id = $1`, id, amount)
		return err
	})
	if err != nil {
		return billing.Payment{}, err
	}
	return db.Payment(ctx, id)
}

func optional(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// ReverseByGatewayCharge reverses the posted payment a gateway charge
// created (a chargeback reported by webhook). It returns false when no
// posted payment has that charge (already reversed, or unknown).
func (db *DB) ReverseByGatewayCharge(ctx context.Context, gateway, chargeID string, r billing.Reversal, now time.Time) (bool, error) {
	var id int64
	err := db.Pool.QueryRow(ctx, `SELECT id FROM payments WHERE gateway = $1 AND gateway_charge = $2 AND status = 'posted'`, gateway, chargeID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = db.ReversePayment(ctx, id, r, "gateway:"+gateway, now)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return false, nil
	}
	return err == nil, err
}
