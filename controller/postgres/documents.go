package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// InvoiceRecord reads everything an invoice prints (see
// [DB.InvoiceRecords]): the invoice with its lines, the account, the account
// type's invoice message and remittance-slip setting, and the account
// summary from the journal. ENOTFOUND if the invoice does not exist.
func (db *DB) InvoiceRecord(ctx context.Context, invoiceID int64) (billing.InvoiceRecord, error) {
	recs, err := db.InvoiceRecords(ctx, []int64{invoiceID})
	if err != nil {
		return billing.InvoiceRecord{}, err
	}
	return recs[0], nil
}

// InvoiceRecords reads the records of many invoices for printing, returned
// in the order of invoiceIDs (a printed batch's mailing order), in a fixed
// number of queries however many there are. An id given twice gives its
// record twice. ENOTFOUND names the ids that do not exist; nothing is
// returned then. (documents.NewInvoiceDocuments turns them into documents.)
//
// The account summary is read from the journal, in posting order:
// PreviousBalance is the account's balance right after its previous
// invoice was issued (0 if this is its first); Payments are the
// transactions posted between that invoice and this one (payments, credits,
// reversals, fees, voids of other invoices) with what each did to the
// balance; AmountDue is the balance right after this invoice was issued. So
// PreviousBalance + Payments + Total = AmountDue, and a reprint shows what
// the invoice said when it was issued, whatever was paid since.
//
// The queries run in one read-only snapshot, so the documents agree with
// each other even while payments are posted.
func (db *DB) InvoiceRecords(ctx context.Context, invoiceIDs []int64) ([]billing.InvoiceRecord, error) {
	if len(invoiceIDs) == 0 {
		return nil, nil
	}
	var out []billing.InvoiceRecord
	err := db.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// Planning these per-invoice lookups is cheap; JIT-compiling them
		// for a batch of thousands cost more than running them.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		var err error
		out, err = invoiceRecords(ctx, tx, invoiceIDs)
		return err
	})
	return out, err
}

func invoiceRecords(ctx context.Context, q pgx.Tx, invoiceIDs []int64) ([]billing.InvoiceRecord, error) {
	ids := slices.Clone(invoiceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)

	// Invoices.
	invoices := make(map[int64]*billing.Invoice, len(ids))
	rows, err := q.Query(ctx, `SELECT `+invoiceColumns+` FROM invoices WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Invoice, error) { return scanInvoice(r) })
	if err != nil {
		return nil, err
	}
	for i := range list {
		invoices[list[i].ID] = &list[i]
	}
	if len(invoices) != len(ids) {
		var missing []string
		for _, id := range ids {
			if invoices[id] == nil {
				missing = append(missing, fmt.Sprint(id))
			}
		}
		if len(missing) == 1 {
			return nil, billing.Errorf(billing.ENOTFOUND, "invoice %s does not exist", missing[0])
		}
		if len(missing) > 10 {
			missing = append(missing[:10], fmt.Sprintf("and %d more", len(missing)-10))
		}
		return nil, billing.Errorf(billing.ENOTFOUND, "invoices %s do not exist", strings.Join(missing, ", "))
	}

	// Lines.
	rows, err = q.Query(ctx, `SELECT invoice_id, kind, description, service_id, charge_id, period_start, period_end, amount, taxable
		FROM invoice_lines WHERE invoice_id = ANY($1) ORDER BY invoice_id, line_no`, ids)
	if err != nil {
		return nil, err
	}
	var invID int64
	var l billing.InvoiceLine
	_, err = pgx.ForEachRow(rows, []any{&invID, &l.Kind, &l.Description, &l.ServiceID, &l.ChargeID, scanDate(&l.PeriodStart), scanDate(&l.PeriodEnd), &l.Amount, &l.Taxable},
		func() error {
			inv := invoices[invID]
			inv.Lines = append(inv.Lines, l)
			l = billing.InvoiceLine{}
			return nil
		})
	if err != nil {
		return nil, err
	}

	// Accounts and their types.
	accountIDs := make([]int64, 0, len(invoices))
	for _, inv := range invoices {
		accountIDs = append(accountIDs, inv.AccountID)
	}
	slices.Sort(accountIDs)
	accountIDs = slices.Compact(accountIDs)
	rows, err = q.Query(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ANY($1)`, accountIDs)
	if err != nil {
		return nil, err
	}
	accts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, err
	}
	accounts := make(map[int64]billing.Account, len(accts))
	var typeIDs []int64
	for _, a := range accts {
		accounts[a.ID] = a
		typeIDs = append(typeIDs, a.AccountTypeID)
	}
	slices.Sort(typeIDs)
	typeIDs = slices.Compact(typeIDs)
	rows, err = q.Query(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = ANY($1)`, typeIDs)
	if err != nil {
		return nil, err
	}
	typeList, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AccountType, error) { return scanAccountType(r) })
	if err != nil {
		return nil, err
	}
	types := make(map[int64]billing.AccountType, len(typeList))
	for _, t := range typeList {
		types[t.ID] = t
	}

	// The account summary: each invoice's issuing transaction, the
	// previous invoice's, and the balances after each.
	type summary struct {
		txID, prevTxID      int64
		previous, amountDue int64
		payments            []billing.InvoicePayment
	}
	sums := make(map[int64]*summary, len(ids))
	rows, err = q.Query(ctx, `
		WITH inv AS MATERIALIZED (
			SELECT i.id AS invoice_id, i.account_id, t.id AS tx_id
			FROM invoices i
			JOIN LATERAL (SELECT t.id FROM journal_transactions t
				WHERE t.account_id = i.account_id AND t.invoice_id = i.id AND t.kind = 'invoice_issued'
				ORDER BY t.id LIMIT 1) t ON true
			WHERE i.id = ANY($1)
		), prev AS MATERIALIZED (
			SELECT inv.*, coalesce((SELECT max(p.id) FROM journal_transactions p
				WHERE p.account_id = inv.account_id AND p.kind = 'invoice_issued' AND p.id < inv.tx_id), 0) AS prev_tx
			FROM inv
		)
		SELECT prev.invoice_id, prev.tx_id, prev.prev_tx,
			coalesce(sum(e.amount) FILTER (WHERE e.tx_id <= prev.prev_tx), 0)::bigint,
			coalesce(sum(e.amount), 0)::bigint
		FROM prev
		LEFT JOIN journal_entries e ON e.account_id = prev.account_id AND e.ledger = 'accounts_receivable' AND e.tx_id <= prev.tx_id
		GROUP BY prev.invoice_id, prev.tx_id, prev.prev_tx`, ids)
	if err != nil {
		return nil, err
	}
	var s summary
	_, err = pgx.ForEachRow(rows, []any{&invID, &s.txID, &s.prevTxID, &s.previous, &s.amountDue}, func() error {
		c := s
		sums[invID] = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := len(sums)
	spanInv, spanAcct, spanPrev, spanTx := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	for id, sm := range sums {
		spanInv, spanAcct = append(spanInv, id), append(spanAcct, invoices[id].AccountID)
		spanPrev, spanTx = append(spanPrev, sm.prevTxID), append(spanTx, sm.txID)
	}
	rows, err = q.Query(ctx, `
		WITH span AS (
			SELECT u.invoice_id, u.account_id, u.prev_tx, u.tx_id
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(invoice_id, account_id, prev_tx, tx_id)
		)
		SELECT span.invoice_id, t.effective_date, t.kind, t.memo, e.amount
		FROM span
		JOIN journal_transactions t ON t.account_id = span.account_id AND t.id > span.prev_tx AND t.id < span.tx_id
			AND t.kind <> 'invoice_issued'
		JOIN LATERAL (SELECT sum(amount)::bigint AS amount FROM journal_entries
			WHERE tx_id = t.id AND ledger = 'accounts_receivable') e ON e.amount IS NOT NULL AND e.amount <> 0
		ORDER BY span.invoice_id, t.id`, spanInv, spanAcct, spanPrev, spanTx)
	if err != nil {
		return nil, err
	}
	var p billing.InvoicePayment
	var kind billing.TxKind
	_, err = pgx.ForEachRow(rows, []any{&invID, scanDate(&p.Date), &kind, &p.Memo, &p.Amount}, func() error {
		if p.Memo == "" {
			p.Memo = strings.ReplaceAll(string(kind), "_", " ") // "payment posted"
		}
		sm := sums[invID]
		sm.payments = append(sm.payments, p)
		p = billing.InvoicePayment{}
		return nil
	})
	if err != nil {
		return nil, err
	}

	out := make([]billing.InvoiceRecord, len(invoiceIDs))
	for i, id := range invoiceIDs {
		inv := invoices[id]
		a := accounts[inv.AccountID]
		t := types[a.AccountTypeID]
		r := billing.InvoiceRecord{
			Account:        a,
			Invoice:        *inv,
			Message:        billing.EffectiveType(t, a.Overrides).InvoiceMessage,
			RemittanceSlip: t.RemittanceSlip,
			AmountDue:      inv.Total,
		}
		if sm := sums[id]; sm != nil {
			r.PreviousBalance, r.Payments, r.AmountDue = sm.previous, sm.payments, sm.amountDue
		}
		out[i] = r
	}
	return out, nil
}

// AccountStatement reads an account's statement between two dates
// (inclusive, by effective date): the balance before from, the journal
// transactions effective in [from, to] in date order (posting order within
// a day) with their effect on the balance and a running balance, and the
// balance after to. ENOTFOUND if the account does not exist; EINVALID if to
// is before from.
func (db *DB) AccountStatement(ctx context.Context, accountID int64, from, to billing.Date) (billing.AccountStatement, error) {
	d := billing.AccountStatement{From: from, To: to}
	if from.IsZero() || to.IsZero() {
		return d, billing.Errorf(billing.EINVALID, "a statement needs both a from and a to date")
	}
	if to.Before(from) {
		return d, billing.Errorf(billing.EINVALID, "the statement period ends (%s) before it starts (%s)", to, from)
	}
	a, err := db.Account(ctx, accountID)
	if err != nil {
		return d, err
	}
	d.Account = a
	err = db.Pool.QueryRow(ctx, `SELECT coalesce(sum(e.amount), 0)::bigint
		FROM journal_transactions t JOIN journal_entries e ON e.tx_id = t.id AND e.ledger = 'accounts_receivable'
		WHERE t.account_id = $1 AND t.effective_date < $2`, accountID, pgDate(from)).Scan(&d.OpeningBalance)
	if err != nil {
		return d, err
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT t.id, t.kind, t.effective_date, t.posted_at, t.memo, t.invoice_id, coalesce(i.number, ''), e.amount
		FROM journal_transactions t
		JOIN (SELECT tx_id, sum(amount)::bigint AS amount FROM journal_entries
			WHERE account_id = $1 AND ledger = 'accounts_receivable' GROUP BY tx_id) e ON e.tx_id = t.id
		LEFT JOIN invoices i ON i.id = t.invoice_id
		WHERE t.account_id = $1 AND t.effective_date BETWEEN $2 AND $3
		ORDER BY t.effective_date, t.id`, accountID, pgDate(from), pgDate(to))
	if err != nil {
		return d, err
	}
	bal := d.OpeningBalance
	d.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.StatementLine, error) {
		var l billing.StatementLine
		err := r.Scan(&l.TxID, &l.Kind, scanDate(&l.EffectiveDate), &l.PostedAt, &l.Memo, &l.InvoiceID, &l.InvoiceNumber, &l.Amount)
		bal += l.Amount
		l.RunningBalance = bal
		return l, err
	})
	d.ClosingBalance = bal
	return d, err
}
