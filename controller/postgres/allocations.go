package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// reallocateSQL applies a [billing.ReallocationPlan] to payment $3: the
// allocation events ($1 invoices, $2 ±amounts, effective $4, by $5), the
// payment's running totals per invoice (a total that reaches zero goes),
// and the invoices' paid totals, the invoices $6 becoming paid and $7 open.
const reallocateSQL = `WITH d AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS d(invoice_id, amount)
	), ev AS (
		INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
		SELECT $3, invoice_id, amount, 'reallocated', $4, $5 FROM d
	), gone AS (
		DELETE FROM payment_allocations a USING d
		WHERE a.payment_id = $3 AND a.invoice_id = d.invoice_id AND a.amount + d.amount = 0
	), less AS (
		UPDATE payment_allocations a SET amount = a.amount + d.amount FROM d
		WHERE a.payment_id = $3 AND a.invoice_id = d.invoice_id AND d.amount < 0 AND a.amount + d.amount > 0
	), more AS (
		INSERT INTO payment_allocations (payment_id, invoice_id, amount) SELECT $3, invoice_id, amount FROM d WHERE amount > 0
		ON CONFLICT (payment_id, invoice_id) DO UPDATE SET amount = payment_allocations.amount + EXCLUDED.amount
	)
	UPDATE invoices i SET paid = i.paid + d.amount,
		status = CASE WHEN i.id = ANY($6) THEN 'paid' WHEN i.id = ANY($7) THEN 'open' ELSE i.status END
	FROM d WHERE i.id = d.invoice_id`

// ReallocatePayment moves part of a posted payment's allocation from one
// invoice to another open invoice of its account, as
// [billing.PlanReallocation] decides, in one transaction: two allocation
// events dated today in the account type's zone (no journal entry: the
// account's receivable does not change), the running totals, the invoices'
// paid or open status, and the account's settlement (money moved to a
// past-due invoice may cure a delinquency; moved off one, the next sweep
// decides). ENOTFOUND for an unknown payment; EINVALID naming the field;
// ECONFLICT for a reversed payment.
func (db *DB) ReallocatePayment(ctx context.Context, id int64, r billing.Reallocation, by string, now time.Time) (billing.Payment, error) {
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
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return err
		}
		p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1`, id))
		if err != nil {
			return err
		}
		if p.Allocations, err = paymentAllocations(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, number, status, total - paid FROM invoices
			WHERE account_id = $1 AND (number = ANY($2) OR id::text = ANY($2)) ORDER BY id FOR UPDATE`, accountID, []string{r.From, r.To})
		if err != nil {
			return err
		}
		invoices, err := pgx.CollectRows(rows, pgx.RowToStructByPos[billing.InvoiceDue])
		if err != nil {
			return err
		}
		plan, err := billing.PlanReallocation(billing.ReallocationInput{Payment: p, Invoices: invoices, Move: r})
		if err != nil {
			return err
		}
		ids, amounts := make([]int64, len(plan.Changes)), make([]int64, len(plan.Changes))
		for i, c := range plan.Changes {
			ids[i], amounts[i] = c.InvoiceID, c.Amount
		}
		if _, err := tx.Exec(ctx, reallocateSQL, ids, amounts, id, pgDate(billing.DateIn(now, loc)), by,
			orEmpty(plan.Paid), orEmpty(plan.Reopened)); err != nil {
			return mapError(err)
		}
		return db.settleTx(ctx, tx, accountID, billing.SettleCause{Kind: billing.CausePayment, PaymentID: id}, by, now)
	})
	if err != nil {
		return billing.Payment{}, err
	}
	return db.Payment(ctx, id)
}

func orEmpty(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// paymentAllocations reads a payment's allocations (running totals per
// invoice), oldest invoice first.
func paymentAllocations(ctx context.Context, q querier, id int64) ([]billing.Allocation, error) {
	rows, err := q.Query(ctx, `SELECT a.invoice_id, i.number, a.amount FROM payment_allocations a
		JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY i.due_date, i.id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[billing.Allocation])
}

// AllocationEvents lists a payment's allocation events, oldest first:
// every application, reallocation and reversal of what it paid. ENOTFOUND
// for an unknown payment.
func (db *DB) AllocationEvents(ctx context.Context, paymentID int64) ([]billing.AllocationEvent, error) {
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payments WHERE id = $1)`, paymentID).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", paymentID)
	}
	return allocationEvents(ctx, db.Pool, `SELECT `+allocationEventColumns+`
		FROM allocation_events e JOIN invoices i ON i.id = e.invoice_id LEFT JOIN invoices n ON n.id = e.credit_note_id
		WHERE e.payment_id = $1 ORDER BY e.id`, paymentID)
}

// allocationEventColumns are an allocation event's columns (e, with its
// invoice i and its credit note n) as scanAllocationEvent reads them.
const allocationEventColumns = `e.id, coalesce(e.payment_id, 0), coalesce(e.credit_note_id, 0), coalesce(n.number, ''),
	e.invoice_id, i.number, e.amount, e.kind, e.effective_date, e.actor`

// allocationEvents runs query (selecting allocationEventColumns) with
// args; an empty list, not nil, when it finds none.
func allocationEvents(ctx context.Context, q querier, query string, args ...any) ([]billing.AllocationEvent, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AllocationEvent, error) {
		var e billing.AllocationEvent
		err := r.Scan(&e.ID, &e.PaymentID, &e.CreditNoteID, &e.CreditNoteNumber, &e.InvoiceID, &e.InvoiceNumber, &e.Amount, &e.Kind,
			scanDate(&e.EffectiveDate), &e.Actor)
		return e, err
	})
	if events == nil {
		events = []billing.AllocationEvent{}
	}
	return events, err
}

// InvoiceAllocationEvents lists the allocation events of an invoice,
// oldest first: for a credit note, every application of its credit to an
// invoice (credit_note_id set); for any invoice, every payment's or credit
// note's money applied to it or taken back. ENOTFOUND for an unknown
// invoice.
func (db *DB) InvoiceAllocationEvents(ctx context.Context, invoiceID int64) ([]billing.AllocationEvent, error) {
	var exists bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invoices WHERE id = $1)`, invoiceID).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, billing.Errorf(billing.ENOTFOUND, "invoice %d does not exist", invoiceID)
	}
	// Two lookups, each through its index (allocation_events_credit_note_idx,
	// allocation_events_invoice_idx), not one OR.
	return allocationEvents(ctx, db.Pool, `SELECT `+allocationEventColumns+`
		FROM (SELECT * FROM allocation_events WHERE credit_note_id = $1
			UNION ALL
			SELECT * FROM allocation_events WHERE invoice_id = $1 AND credit_note_id IS DISTINCT FROM $1) e
		JOIN invoices i ON i.id = e.invoice_id LEFT JOIN invoices n ON n.id = e.credit_note_id
		ORDER BY e.id`, invoiceID)
}
