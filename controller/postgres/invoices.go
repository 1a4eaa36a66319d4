package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const invoiceColumns = `id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
	currency, subtotal, tax, total, status, why, created_at, paid, kind`

func scanInvoice(row pgx.Row) (billing.Invoice, error) {
	var i billing.Invoice
	err := row.Scan(&i.ID, &i.Number, &i.AccountID, scanDate(&i.Period.Start), scanDate(&i.Period.End),
		scanDate(&i.IssueDate), scanDate(&i.DueDate), scanDate(&i.DelinquencyDate), &i.Currency,
		&i.Subtotal, &i.Tax, &i.Total, &i.Status, &i.Why, &i.CreatedAt, &i.Paid, &i.Kind)
	return i, err
}

// Invoice returns an invoice with its lines; ENOTFOUND if missing.
func (db *DB) Invoice(ctx context.Context, id int64) (billing.Invoice, error) {
	return invoiceWithLines(ctx, db.Pool, id)
}

func invoiceWithLines(ctx context.Context, q querier, id int64) (billing.Invoice, error) {
	inv, err := scanInvoice(q.QueryRow(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, billing.Errorf(billing.ENOTFOUND, "invoice %d does not exist", id)
	}
	if err != nil {
		return inv, err
	}
	rows, err := q.Query(ctx, `SELECT kind, description, service_id, charge_id, period_start, period_end, amount, taxable
		FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no`, id)
	if err != nil {
		return inv, err
	}
	inv.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.InvoiceLine, error) {
		var l billing.InvoiceLine
		err := r.Scan(&l.Kind, &l.Description, &l.ServiceID, &l.ChargeID, scanDate(&l.PeriodStart), scanDate(&l.PeriodEnd), &l.Amount, &l.Taxable)
		return l, err
	})
	return inv, err
}

// Invoices lists invoices (without lines) in id order.
func (db *DB) Invoices(ctx context.Context, f billing.InvoiceFilter) ([]billing.Invoice, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	// One statement per combination of filters, each planned with the
	// index it can use. An account's invoices come through two: its
	// regular ones by invoices_one_regular_per_period, the few others by
	// invoices_other_kinds_account_idx (migration 00036).
	where, args := "id > $1", []any{f.AfterID}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if f.BillingRunID != 0 {
		args = append(args, f.BillingRunID)
		where += fmt.Sprintf(" AND billing_run_id = $%d", len(args))
	}
	if !f.IssuedFrom.IsZero() {
		args = append(args, pgDate(f.IssuedFrom))
		where += fmt.Sprintf(" AND issue_date >= $%d", len(args))
	}
	if !f.IssuedTo.IsZero() {
		args = append(args, pgDate(f.IssuedTo))
		where += fmt.Sprintf(" AND issue_date <= $%d", len(args))
	}
	from := "invoices"
	if f.AccountID != 0 {
		args = append(args, f.AccountID)
		where += fmt.Sprintf(" AND account_id = $%d", len(args))
		from = `(SELECT * FROM invoices WHERE kind = 'regular' AND ` + where + `
			UNION ALL SELECT * FROM invoices WHERE kind <> 'regular' AND ` + where + `) invoices`
	}
	args = append(args, f.Limit)
	rows, err := db.Pool.Query(ctx, `SELECT `+invoiceColumns+` FROM `+from+` WHERE `+where+
		fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Invoice, error) { return scanInvoice(r) })
}

// VoidInvoice voids an open invoice: its status becomes void and a
// reversing journal transaction cancels it exactly. ENOTFOUND if missing;
// ECONFLICT if it is already void or paid.
func (db *DB) VoidInvoice(ctx context.Context, id int64, reason string, effective billing.Date, at time.Time) (billing.Invoice, error) {
	var inv billing.Invoice
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM invoices WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "invoice %d does not exist", id)
		}
		if err != nil {
			return err
		}
		if err := billing.CheckVoidable(id, billing.InvoiceStatus(status)); err != nil {
			return err
		}
		if inv, err = invoiceWithLines(ctx, tx, id); err != nil {
			return err
		}
		jt := billing.VoidTx(inv, effective)
		jt.PostedAt = at
		if reason != "" {
			jt.Memo += ": " + reason
		}
		if _, err := postTx(ctx, tx, jt); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE invoices SET status = 'void', voided_at = $2 WHERE id = $1`, id, at)
		inv.Status = billing.InvoiceVoid
		return err
	})
	return inv, err
}
