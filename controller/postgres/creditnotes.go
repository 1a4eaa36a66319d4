package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Credit notes (invoices with a negative total) applied to invoices, as
// the domain core plans them (billing.PlanCreditNoteAllocations,
// PlanCreditNoteTakeover): allocation events with no payment, their
// running totals in credit_note_allocations, the invoices' paid totals (a
// credit note's goes below zero by what it gave). No journal entry: the
// account's receivable does not change.

// creditNoteWriteSQL stores credit note allocations ($1 credit notes, $2
// invoices, $3 amounts) as allocation events of kind $4 effective on $5
// (or, when NULL, when both the note and the invoice existed), by $6;
// adds them to the running totals and to both invoices' paid totals (the
// note's down, the invoice's up) and marks the invoices $7 paid.
const creditNoteWriteSQL = `WITH a AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS a(credit_note_id, invoice_id, amount)
	), ins AS (
		INSERT INTO credit_note_allocations (credit_note_id, invoice_id, amount)
		SELECT credit_note_id, invoice_id, sum(amount) FROM a GROUP BY credit_note_id, invoice_id
		ON CONFLICT (credit_note_id, invoice_id) DO UPDATE SET amount = credit_note_allocations.amount + EXCLUDED.amount
	), ev AS (
		INSERT INTO allocation_events (credit_note_id, invoice_id, amount, kind, effective_date, actor)
		SELECT a.credit_note_id, a.invoice_id, a.amount, $4, coalesce($5::date,
			(SELECT greatest(n.issue_date, i.issue_date) FROM invoices n, invoices i WHERE n.id = a.credit_note_id AND i.id = a.invoice_id)), $6
		FROM a
	), d AS (
		SELECT invoice_id AS id, amount AS delta FROM a
		UNION ALL
		SELECT credit_note_id, -amount FROM a
	)
	UPDATE invoices i SET paid = i.paid + s.delta, status = CASE WHEN i.id = ANY($7) THEN 'paid' ELSE i.status END
	FROM (SELECT id, sum(delta)::bigint AS delta FROM d GROUP BY id) s WHERE i.id = s.id`

// writeCreditNoteAllocations writes allocs (kind, stamped), marking paid
// the invoices and credit notes paid says are.
func writeCreditNoteAllocations(ctx context.Context, tx pgx.Tx, allocs []billing.CreditNoteAllocation, kind billing.AllocationEventKind,
	stamp allocStamp, paid []int64) error {
	if len(allocs) == 0 {
		return nil
	}
	notes, invoices, amounts := make([]int64, len(allocs)), make([]int64, len(allocs)), make([]int64, len(allocs))
	for i, a := range allocs {
		notes[i], invoices[i], amounts[i] = a.CreditNoteID, a.InvoiceID, a.Amount
	}
	_, err := tx.Exec(ctx, creditNoteWriteSQL, notes, invoices, amounts, string(kind), pgDate(stamp.day), stamp.by, orEmpty(paid))
	return mapError(err)
}

// releaseSQL takes back what payments paid on invoices ($1 payments, $2
// invoices, $3 negative amounts), as events of kind taken_over effective
// on $4 by $5, from the payments' running totals and the invoices' paid
// totals (the credit note's events, written next, give it back).
const releaseSQL = `WITH d AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS d(payment_id, invoice_id, amount)
	), ev AS (
		INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
		SELECT payment_id, invoice_id, amount, 'taken_over', $4, $5 FROM d
	), s AS (
		SELECT payment_id, invoice_id, sum(amount)::bigint AS amount FROM d GROUP BY payment_id, invoice_id
	), gone AS (
		DELETE FROM payment_allocations a USING s
		WHERE a.payment_id = s.payment_id AND a.invoice_id = s.invoice_id AND a.amount + s.amount = 0
	), less AS (
		UPDATE payment_allocations a SET amount = a.amount + s.amount FROM s
		WHERE a.payment_id = s.payment_id AND a.invoice_id = s.invoice_id AND a.amount + s.amount > 0
	), inv AS (
		UPDATE invoices i SET paid = i.paid + x.sum
		FROM (SELECT invoice_id, sum(amount)::bigint AS sum FROM d GROUP BY invoice_id) x WHERE i.id = x.invoice_id
	)
	UPDATE payments p SET allocated = p.allocated + x.sum
	FROM (SELECT payment_id, sum(amount)::bigint AS sum FROM d GROUP BY payment_id) x WHERE p.id = x.payment_id`

// writeTakeover applies a credit note takeover: the payments' allocations
// released, then the credit notes' given, so each invoice's paid total
// ends as it was. paid lists the credit notes it uses up.
func writeTakeover(ctx context.Context, tx pgx.Tx, applied []billing.CreditNoteAllocation, released []billing.PlannedAllocation, stamp allocStamp, paid []int64) error {
	if len(released) == 0 {
		return nil
	}
	pays, invoices, amounts := make([]int64, len(released)), make([]int64, len(released)), make([]int64, len(released))
	for i, r := range released {
		pays[i], invoices[i], amounts[i] = r.PaymentID, r.InvoiceID, r.Amount
	}
	if _, err := tx.Exec(ctx, releaseSQL, pays, invoices, amounts, pgDate(stamp.day), stamp.by); err != nil {
		return mapError(err)
	}
	return writeCreditNoteAllocations(ctx, tx, applied, billing.AllocTakenOver, stamp, paid)
}

// creditNotesReadSQL reads the open credit notes with credit left (Credit
// true, oldest first) and the open invoices with money owed (oldest due
// first) of the accounts $1, account by account.
const creditNotesReadSQL = `
	(SELECT true, account_id, id, paid - total, number
	FROM invoices WHERE account_id = ANY($1) AND status = 'open' AND total < 0 AND paid > total
	ORDER BY account_id, id)
	UNION ALL
	(SELECT false, account_id, id, total - paid, number
	FROM invoices WHERE account_id = ANY($1) AND status = 'open' AND paid < total
	ORDER BY account_id, due_date, id)`

// applyCreditNotes applies the open credit notes of the given accounts to
// their open invoices (billing.PlanCreditNoteAllocations, account by
// account), effective when both existed, by "system". The caller holds the
// accounts' row locks.
func applyCreditNotes(ctx context.Context, tx pgx.Tx, accountIDs ...int64) error {
	return applyCreditNotesAs(ctx, tx, allocStamp{by: "system"}, accountIDs...)
}

// applyCreditNotesAs is applyCreditNotes with the events' stamp (a
// reversal's: the invoices it reopened are paid by the credit notes today,
// by whoever reversed the payment).
func applyCreditNotesAs(ctx context.Context, tx pgx.Tx, stamp allocStamp, accountIDs ...int64) error {
	rows, err := tx.Query(ctx, creditNotesReadSQL, accountIDs)
	if err != nil {
		return err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[openItem])
	if err != nil {
		return err
	}
	notes := map[int64][]billing.CreditNote{}
	invoices := map[int64][]billing.OpenInvoice{}
	var order []int64
	for _, o := range items {
		if _, seen := notes[o.Account]; !seen {
			if _, seen := invoices[o.Account]; !seen {
				order = append(order, o.Account)
			}
		}
		if o.Credit {
			notes[o.Account] = append(notes[o.Account], billing.CreditNote{InvoiceID: o.ID, Number: o.Number, Credit: o.Amount})
		} else {
			invoices[o.Account] = append(invoices[o.Account], billing.OpenInvoice{InvoiceID: o.ID, Number: o.Number, Amount: o.Amount})
		}
	}
	var all []billing.CreditNoteAllocation
	var paid []int64
	for _, acct := range order {
		allocs, full, used := billing.PlanCreditNoteAllocations(notes[acct], invoices[acct])
		all = append(all, allocs...)
		paid = append(append(paid, full...), used...)
	}
	return writeCreditNoteAllocations(ctx, tx, all, billing.AllocApplied, stamp, paid)
}
