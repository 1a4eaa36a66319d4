package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// ExportDocs reads the journal transactions effective in [from, to] that
// target carries (xero-invoices: invoices issued; xero-bank: payments,
// reversals, refunds; the QuickBooks targets: every transaction), by id,
// with their entries, the invoice's lines and their service's plan, the
// payment's gateway, deposit account, method and reference, the customer,
// and whether an earlier export to target carried the document (for
// quickbooks-customers: the customer).
func (db *DB) ExportDocs(ctx context.Context, target string, from, to billing.Date) ([]reports.ExportDoc, error) {
	rows, err := db.Pool.Query(ctx, `
		WITH tx AS (
			SELECT t.* FROM journal_transactions t
			WHERE t.effective_date BETWEEN $1 AND $2 AND CASE $3
				WHEN 'xero-invoices' THEN t.kind = 'invoice_issued'
				WHEN 'xero-bank' THEN t.kind IN ('payment_posted', 'payment_reversed', 'refund')
				ELSE true END
		)
		SELECT t.id, t.kind, t.effective_date, t.memo, t.currency,
			a.id, a.number, a.name, a.email, a.phone, coalesce(a.address->>'line1', ''), coalesce(a.address->>'city', ''),
			coalesce(a.address->>'region', ''), coalesce(a.address->>'postal_code', ''), coalesce(a.address->>'country', ''),
			a.tax_jurisdiction, coalesce(i.number, ''), i.due_date,
			coalesce(p.gateway, ''), coalesce(b.deposit_account, ''), coalesce(p.method, ''), coalesce(p.reference, ''),
			EXISTS (SELECT 1 FROM accounting_exported_documents x WHERE x.target = $3
				AND x.document = CASE $3 WHEN 'quickbooks-customers' THEN a.id ELSE t.id END),
			(SELECT array_agg(e.ledger ORDER BY e.entry_no) FROM journal_entries e WHERE e.tx_id = t.id),
			(SELECT array_agg(e.amount ORDER BY e.entry_no) FROM journal_entries e WHERE e.tx_id = t.id)
		FROM tx t JOIN accounts a ON a.id = t.account_id
		LEFT JOIN invoices i ON i.id = t.invoice_id AND t.kind IN ('invoice_issued', 'invoice_voided')
		LEFT JOIN refunds r ON t.kind = 'refund' AND r.journal_tx_id = t.id
		LEFT JOIN payments p ON p.id = (SELECT q.id FROM payments q WHERE
			(t.kind = 'payment_posted' AND q.journal_tx_id = t.id) OR (t.kind = 'refund' AND q.id = r.payment_id)
			OR (t.kind = 'payment_reversed' AND q.account_id = t.account_id AND q.reversed_at = t.posted_at) LIMIT 1)
		LEFT JOIN payment_batches b ON b.id = p.batch_id
		ORDER BY t.id`, pgDate(from), pgDate(to), target)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.ExportDoc, error) {
		var d reports.ExportDoc
		c := &d.Customer
		var due *time.Time
		var ledgers []string
		var amounts []int64
		err := r.Scan(&d.TxID, &d.Kind, scanDate(&d.EffectiveDate), &d.Memo, &d.Currency,
			&c.AccountID, &c.Number, &c.Name, &c.Email, &c.Phone, &c.Street, &c.City, &c.Region, &c.Postcode, &c.Country,
			&d.Jurisdiction, &d.InvoiceNumber, &due, &d.Gateway, &d.DepositAccount, &d.Method, &d.Reference, &d.Exported, &ledgers, &amounts)
		if due != nil {
			d.DueDate = billing.DateOf(due.UTC())
		}
		for i := range ledgers {
			d.Entries = append(d.Entries, billing.Entry{Ledger: ledgers[i], Amount: amounts[i]})
		}
		return d, err
	})
	if err != nil {
		return nil, err
	}
	// The invoices' lines, with the plan of their service, in one read.
	byInvoice := map[string]int{}
	var numbers []string
	for i, d := range docs {
		if d.InvoiceNumber != "" {
			byInvoice[d.InvoiceNumber+"/"+string(d.Kind)] = i
			numbers = append(numbers, d.InvoiceNumber)
		}
	}
	if len(numbers) == 0 {
		return docs, nil
	}
	rows, err = db.Pool.Query(ctx, `
		SELECT i.number, l.kind, l.description, l.amount, l.taxable, coalesce(pl.name, '')
		FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
		LEFT JOIN services s ON s.id = l.service_id LEFT JOIN plans pl ON pl.id = s.plan_id
		WHERE i.number = ANY($1) ORDER BY i.id, l.line_no`, numbers)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var number string
		var l reports.ExportLine
		if err := rows.Scan(&number, &l.Kind, &l.Description, &l.Amount, &l.Taxable, &l.Plan); err != nil {
			return nil, err
		}
		for _, k := range []billing.TxKind{billing.TxInvoiceIssued, billing.TxInvoiceVoided} {
			if i, ok := byInvoice[number+"/"+string(k)]; ok {
				docs[i].Lines = append(docs[i].Lines, l)
			}
		}
	}
	return docs, rows.Err()
}

// RecordExport records an export to target of the period and the documents
// it carried (a document already carried by an earlier export stays with
// that one).
func (db *DB) RecordExport(ctx context.Context, e reports.AccountingExport, documents []int64) (reports.AccountingExport, error) {
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO accounting_exports (target, period_from, period_to, all_documents, documents, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, e.Target, pgDate(e.From), pgDate(e.To), e.All, len(documents), e.CreatedBy, e.CreatedAt).Scan(&e.ID)
		if err != nil {
			return mapError(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO accounting_exported_documents (target, document, export_id)
			SELECT $1, d, $2 FROM unnest($3::bigint[]) AS d ON CONFLICT DO NOTHING`, e.Target, e.ID, documents)
		return err
	})
	e.Documents = len(documents)
	return e, err
}

// AccountingExports lists the exports, newest first.
func (db *DB) AccountingExports(ctx context.Context) ([]reports.AccountingExport, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, target, period_from, period_to, all_documents, documents, created_by, created_at
		FROM accounting_exports ORDER BY id DESC LIMIT 1000`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.AccountingExport, error) {
		var e reports.AccountingExport
		err := r.Scan(&e.ID, &e.Target, scanDate(&e.From), scanDate(&e.To), &e.All, &e.Documents, &e.CreatedBy, &e.CreatedAt)
		return e, err
	})
}
