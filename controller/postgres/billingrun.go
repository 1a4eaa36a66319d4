package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// querier is what loaders need: a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const runColumns = `id, account_type_id, run_date, trigger, requested_by, status, total_accounts, done_accounts,
	total_batches, done_batches, invoices_created, amount_invoiced, failed_accounts, created_at, finished_at`

func scanRun(row pgx.Row) (billing.BillingRun, error) {
	var r billing.BillingRun
	err := row.Scan(&r.ID, &r.AccountTypeID, scanDate(&r.Date), &r.Trigger, &r.RequestedBy, &r.Status, &r.TotalAccounts,
		&r.DoneAccounts, &r.TotalBatches, &r.DoneBatches, &r.InvoicesCreated, &r.AmountInvoiced, &r.FailedAccounts, &r.CreatedAt, &r.FinishedAt)
	return r, err
}

// CreateBillingRunTx opens the billing run of one account type for one date
// inside tx, splitting the type's accounts into batches of batchSize by id.
// If the run exists it is returned with created=false. ENOTFOUND if the
// account type does not exist.
func CreateBillingRunTx(ctx context.Context, tx pgx.Tx, typeID int64, date billing.Date, trigger billing.RunTrigger, by string, batchSize int, now time.Time) (billing.BillingRun, bool, error) {
	if date.IsZero() {
		return billing.BillingRun{}, false, billing.Errorf(billing.EINVALID, "date is required")
	}
	// Nothing is billed into a closed period (issue 20).
	closed, err := closedThrough(ctx, tx)
	if err != nil {
		return billing.BillingRun{}, false, err
	}
	if err := reports.CheckRunDate(date, closed); err != nil {
		return billing.BillingRun{}, false, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account_types WHERE id = $1)`, typeID).Scan(&exists); err != nil {
		return billing.BillingRun{}, false, err
	}
	if !exists {
		return billing.BillingRun{}, false, billing.Errorf(billing.ENOTFOUND, "account type %d does not exist", typeID)
	}
	run, err := scanRun(tx.QueryRow(ctx, `INSERT INTO billing_runs (account_type_id, run_date, trigger, requested_by, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_type_id, run_date) DO NOTHING RETURNING `+runColumns,
		typeID, pgDate(date), trigger, by, now))
	if errors.Is(err, pgx.ErrNoRows) {
		run, err = scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM billing_runs WHERE account_type_id = $1 AND run_date = $2`, typeID, pgDate(date)))
		return run, false, err
	}
	if err != nil {
		return run, false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO billing_run_batches (run_id, batch_no, first_id, last_id, accounts)
		SELECT $1, b, min(id), max(id), count(*) FROM (
			SELECT id, ((row_number() OVER (ORDER BY id)) - 1) / $3 AS b
			FROM accounts WHERE account_type_id = $2 AND status <> 'closed') s
		GROUP BY b`, run.ID, typeID, batchSize)
	if err != nil {
		return run, false, err
	}
	run, err = scanRun(tx.QueryRow(ctx, `UPDATE billing_runs SET total_batches = $2,
			total_accounts = (SELECT coalesce(sum(accounts), 0) FROM billing_run_batches WHERE run_id = $1),
			status = CASE WHEN $2 = 0 THEN 'completed' ELSE status END,
			finished_at = CASE WHEN $2 = 0 THEN $3::timestamptz END
		WHERE id = $1 RETURNING `+runColumns, run.ID, tag.RowsAffected(), now))
	return run, true, err
}

// OpenBillingRun opens the billing run of one account type for one date
// (CreateBillingRunTx) in a transaction of its own and, only if it created
// the run, calls queue with the run in that transaction, so the run and
// what queue writes (the job runner's batch jobs) commit together. An
// existing run is returned with created=false and queue is not called.
// EINVALID for a zero date, ENOTFOUND if the account type does not exist;
// an error from queue or the database rolls everything back.
func (db *DB) OpenBillingRun(ctx context.Context, typeID int64, date billing.Date, trigger billing.RunTrigger, by string, batchSize int,
	now time.Time, queue func(ctx context.Context, tx pgx.Tx, run billing.BillingRun) error) (billing.BillingRun, bool, error) {
	var run billing.BillingRun
	var created bool
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		run, created, err = CreateBillingRunTx(ctx, tx, typeID, date, trigger, by, batchSize, now)
		if err != nil || !created {
			return err
		}
		return queue(ctx, tx, run)
	})
	if err != nil {
		return billing.BillingRun{}, false, err
	}
	return run, created, nil
}

// RunningBillingRun returns the oldest run of account type typeID, opened
// at or after since, that is still running, if there is one.
func (db *DB) RunningBillingRun(ctx context.Context, typeID int64, since time.Time) (billing.BillingRun, bool, error) {
	r, err := scanRun(db.Pool.QueryRow(ctx, `SELECT `+runColumns+` FROM billing_runs
		WHERE account_type_id = $1 AND status = $2 AND created_at >= $3 ORDER BY id LIMIT 1`, typeID, billing.RunRunning, since))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// BillingRun returns one run with the errors of accounts it could not bill
// (at most 1000); ENOTFOUND if missing.
func (db *DB) BillingRun(ctx context.Context, id int64) (billing.BillingRun, error) {
	r, err := scanRun(db.Pool.QueryRow(ctx, `SELECT `+runColumns+` FROM billing_runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, billing.Errorf(billing.ENOTFOUND, "billing run %d does not exist", id)
	}
	if err != nil || r.FailedAccounts == 0 {
		return r, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT account_id, error FROM billing_run_errors WHERE run_id = $1 ORDER BY account_id LIMIT 1000`, id)
	if err != nil {
		return r, err
	}
	r.Errors, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.AccountError])
	return r, err
}

// BillingRuns lists runs, newest first, before id beforeID (0: from the
// newest), at most limit.
func (db *DB) BillingRuns(ctx context.Context, beforeID int64, limit int) ([]billing.BillingRun, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+runColumns+` FROM billing_runs
		WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, beforeID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.BillingRun, error) { return scanRun(r) })
}

// RunBillingBatch invoices one batch of a billing run in one transaction:
// the invoices, their lines, their journal transactions, the one-time
// charges they consume and the run's progress commit together, so a batch
// is either wholly done or not at all. A batch already done is a no-op.
func (db *DB) RunBillingBatch(ctx context.Context, runID int64, batchNo int, now time.Time) (billing.BatchResult, error) {
	var res billing.BatchResult
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var first, last int64
		var doneAt *time.Time
		var typeID int64
		var date billing.Date
		err := tx.QueryRow(ctx, `SELECT b.first_id, b.last_id, b.done_at, r.account_type_id, r.run_date
			FROM billing_run_batches b JOIN billing_runs r ON r.id = b.run_id
			WHERE b.run_id = $1 AND b.batch_no = $2 FOR UPDATE OF b`, runID, batchNo).
			Scan(&first, &last, &doneAt, &typeID, scanDate(&date))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "billing run %d has no batch %d", runID, batchNo)
		}
		if err != nil || doneAt != nil {
			return err
		}
		// Lifecycle changes of this type's services wait for the batch
		// (and the batch for them): see lifecycleLockSQL.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(hashtextextended('billing_type:' || $1::bigint, 0))`, typeID); err != nil {
			return err
		}
		data, err := loadBilling(ctx, tx, typeID, first, last)
		if err != nil {
			return err
		}
		if err := data.creditSuspendedDays(ctx, tx, date, now); err != nil {
			return err
		}
		invoices, failed := data.compose(date, nil)
		var amount int64
		for _, inv := range invoices {
			amount += inv.Total
		}
		if err := writeInvoices(ctx, tx, invoices, runID, now); err != nil {
			return err
		}
		if err := applyCredit(ctx, tx, invoices); err != nil {
			return err
		}
		for _, f := range failed {
			if _, err := tx.Exec(ctx, `INSERT INTO billing_run_errors (run_id, account_id, error) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, runID, f.AccountID, f.Error); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE billing_run_batches SET done_at = $3, invoices = $4 WHERE run_id = $1 AND batch_no = $2`,
			runID, batchNo, now, len(invoices)); err != nil {
			return err
		}
		var status string
		err = tx.QueryRow(ctx, `UPDATE billing_runs SET done_batches = done_batches + 1,
				done_accounts = done_accounts + (SELECT accounts FROM billing_run_batches WHERE run_id = $1 AND batch_no = $2),
				invoices_created = invoices_created + $3, amount_invoiced = amount_invoiced + $4,
				failed_accounts = failed_accounts + $6,
				status = CASE WHEN done_batches + 1 >= total_batches THEN 'completed' ELSE status END,
				finished_at = CASE WHEN done_batches + 1 >= total_batches THEN $5::timestamptz END
			WHERE id = $1 RETURNING status`, runID, batchNo, len(invoices), amount, now, len(failed)).Scan(&status)
		res = billing.BatchResult{Accounts: len(data.accounts), Invoices: len(invoices), Failed: len(failed),
			RunCompleted: status == string(billing.RunCompleted)}
		return err
	})
	return res, err
}

// PreviewBilling returns what a billing run for date would invoice for the
// accounts of one account type (0: every type), without writing anything.
func (db *DB) PreviewBilling(ctx context.Context, typeID int64, date billing.Date) ([]billing.PreviewItem, error) {
	types, err := db.AccountTypes(ctx)
	if err != nil {
		return nil, err
	}
	var items []billing.PreviewItem
	found := false
	for _, t := range types {
		if typeID != 0 && t.ID != typeID {
			continue
		}
		found = true
		data, err := loadBilling(ctx, db.Pool, t.ID, 0, 1<<62)
		if err != nil {
			return nil, err
		}
		byID := make(map[int64]billing.Account, len(data.accounts))
		for _, a := range data.accounts {
			byID[a.ID] = a
		}
		// An account that cannot be billed is reported with the others'
		// invoices, as the run bills the others and reports it.
		invoices, failed := data.compose(date, nil)
		for _, f := range failed {
			a := byID[f.AccountID]
			items = append(items, billing.PreviewItem{AccountID: a.ID, AccountNumber: a.Number, AccountName: a.Name,
				Currency: a.Currency, Why: []string{}, Error: f.Error})
		}
		for _, inv := range invoices {
			a := byID[inv.AccountID]
			items = append(items, billing.PreviewItem{AccountID: a.ID, AccountNumber: a.Number, AccountName: a.Name,
				Period: inv.Period, IssueDate: inv.IssueDate, DueDate: inv.DueDate, Total: inv.Total,
				Currency: inv.Currency, Lines: len(inv.Lines), Why: inv.Why})
		}
	}
	if typeID != 0 && !found {
		return nil, billing.Errorf(billing.ENOTFOUND, "account type %d does not exist", typeID)
	}
	return items, nil
}

// billingData is everything needed to invoice a range of accounts of one
// type, loaded with one query per table.
type billingData struct {
	typ  billing.AccountType
	rule billing.DateRule
	// effective is typ as each account's overrides make it, computed once
	// per distinct overrides.
	effective *billing.EffectiveTypes
	accounts  []billing.Account
	last      map[int64]billing.Period
	services  map[int64][]billing.ServiceHistory
	charges   map[int64][]billing.OneTimeCharge
	taxes     map[string][]billing.TaxRate
}

func loadBilling(ctx context.Context, q querier, typeID, first, last int64) (*billingData, error) {
	d := &billingData{last: map[int64]billing.Period{}, services: map[int64][]billing.ServiceHistory{},
		charges: map[int64][]billing.OneTimeCharge{}, taxes: map[string][]billing.TaxRate{}}
	var err error
	if d.typ, err = scanAccountType(q.QueryRow(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = $1`, typeID)); err != nil {
		return nil, fmt.Errorf("load account type %d: %w", typeID, err)
	}
	if d.rule, err = billing.NewDateRule(d.typ); err != nil {
		return nil, err
	}
	d.effective = billing.NewEffectiveTypes(d.typ)
	rows, err := q.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE account_type_id = $1 AND id BETWEEN $2 AND $3 AND status <> 'closed' ORDER BY id`, typeID, first, last)
	if err != nil {
		return nil, err
	}
	if d.accounts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Account, error) { return scanAccount(r) }); err != nil {
		return nil, err
	}

	rows, err = q.Query(ctx, `SELECT DISTINCT ON (i.account_id) i.account_id, i.period_start, i.period_end
		FROM invoices i JOIN accounts a ON a.id = i.account_id
		WHERE a.account_type_id = $1 AND i.account_id BETWEEN $2 AND $3 AND i.kind = 'regular'
		ORDER BY i.account_id, i.period_start DESC`, typeID, first, last)
	if err != nil {
		return nil, err
	}
	var id int64
	var p billing.Period
	if _, err := pgx.ForEachRow(rows, []any{&id, scanDate(&p.Start), scanDate(&p.End)}, func() error {
		d.last[id] = p
		return nil
	}); err != nil {
		return nil, err
	}

	if err := d.loadServices(ctx, q, typeID, first, last); err != nil {
		return nil, err
	}

	rows, err = q.Query(ctx, `SELECT c.id, c.account_id, c.description, c.amount, c.taxable, c.charge_date, c.created_at,
			c.service_id, c.period_start, c.period_end
		FROM one_time_charges c JOIN accounts a ON a.id = c.account_id
		WHERE a.account_type_id = $1 AND c.account_id BETWEEN $2 AND $3 AND c.invoice_id IS NULL ORDER BY c.id`, typeID, first, last)
	if err != nil {
		return nil, err
	}
	var c billing.OneTimeCharge
	if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.AccountID, &c.Description, &c.Amount, &c.Taxable, scanDate(&c.ChargeDate), &c.CreatedAt,
		&c.ServiceID, scanDate(&c.PeriodStart), scanDate(&c.PeriodEnd)}, func() error {
		d.charges[c.AccountID] = append(d.charges[c.AccountID], c)
		c.ServiceID = nil
		return nil
	}); err != nil {
		return nil, err
	}

	rows, err = q.Query(ctx, `SELECT jurisdiction, name, rate::text FROM tax_rates ORDER BY jurisdiction, name`)
	if err != nil {
		return nil, err
	}
	var tr billing.TaxRate
	if _, err := pgx.ForEachRow(rows, []any{&tr.Jurisdiction, &tr.Name, &tr.Rate}, func() error {
		d.taxes[tr.Jurisdiction] = append(d.taxes[tr.Jurisdiction], tr)
		return nil
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// compose builds every invoice due by date for the loaded accounts, period
// by period (an account that missed runs catches up). An account whose
// invoice cannot be composed (bad data) gets nothing and is reported in
// failed; the others are not held up. onAccount, if set, is called after
// each account.
func (d *billingData) compose(date billing.Date, onAccount func()) (out []billing.Invoice, failed []billing.AccountError) {
	for _, a := range d.accounts {
		invs, err := d.composeAccount(a, date)
		if err != nil {
			failed = append(failed, billing.AccountError{AccountID: a.ID, Error: err.Error()})
		} else {
			out = append(out, invs...)
		}
		if onAccount != nil {
			onAccount()
		}
	}
	return out, failed
}

func (d *billingData) composeAccount(a billing.Account, date billing.Date) ([]billing.Invoice, error) {
	var out []billing.Invoice
	last := d.last[a.ID]
	charges := d.charges[a.ID]
	for {
		p, ok := billing.PeriodToInvoice(d.typ, d.rule, a, last, date)
		if !ok {
			return out, nil
		}
		var due, rest []billing.OneTimeCharge
		for _, c := range charges {
			if c.ChargeDate.Before(p.End) {
				due = append(due, c)
			} else {
				rest = append(rest, c)
			}
		}
		var services []billing.BillableService
		for _, h := range d.services[a.ID] {
			services = append(services, h.BillableIn(p, d.typ.Lifecycle.PauseHoldFee)...)
		}
		inv, ok, err := billing.ComposeInvoice(billing.InvoiceRequest{Account: a, Type: d.effective.Of(a.Overrides), Period: p,
			Services: services, Charges: due, TaxRates: d.taxes[a.TaxJurisdiction]})
		if err != nil {
			return nil, fmt.Errorf("period %s: %s", p, billing.ErrorMessage(err))
		}
		if ok {
			out = append(out, inv)
			charges = rest
		}
		last = p
	}
}

// writeInvoices stores invoices, their lines and journal transactions with
// COPY, and marks the one-time charges they consume.
func writeInvoices(ctx context.Context, tx pgx.Tx, invoices []billing.Invoice, runID int64, now time.Time) error {
	if len(invoices) == 0 {
		return nil
	}
	n := len(invoices)
	invIDs, err := nextIDs(ctx, tx, "invoices_id_seq", n)
	if err != nil {
		return err
	}
	txIDs, err := nextIDs(ctx, tx, "journal_transactions_id_seq", n)
	if err != nil {
		return err
	}
	invRows := make([][]any, 0, n)
	var lineRows, txRows, entryRows, spanRows [][]any
	var chargeIDs, chargeInv []int64
	var run any
	actor := "" // the journal's: the billing run's, when there is one
	if runID > 0 {
		run, actor = runID, fmt.Sprintf("billing-run:%d", runID)
	}
	for i := range invoices {
		inv := &invoices[i]
		inv.ID = invIDs[i]
		inv.Number = invoiceNumber(inv.ID)
		kind := inv.Kind
		if kind == "" {
			kind = billing.InvoiceRegular
		}
		invRows = append(invRows, []any{inv.ID, inv.Number, inv.AccountID, pgDate(inv.Period.Start), pgDate(inv.Period.End),
			pgDate(inv.IssueDate), pgDate(inv.DueDate), pgDate(inv.DelinquencyDate), string(inv.Currency),
			inv.Subtotal, inv.Tax, inv.Total, nonNil(inv.Why), run, now, string(kind)})
		for _, sp := range inv.Spans {
			spanRows = append(spanRows, spanRow(sp.ServiceID, sp.BilledSpan))
		}
		for j, l := range inv.Lines {
			lineRows = append(lineRows, []any{inv.ID, int32(j + 1), string(l.Kind), l.Description, l.ServiceID, l.ChargeID,
				pgDate(l.PeriodStart), pgDate(l.PeriodEnd), l.Amount, l.Taxable})
			if l.ChargeID != nil {
				chargeIDs, chargeInv = append(chargeIDs, *l.ChargeID), append(chargeInv, inv.ID)
			}
		}
		jt := billing.InvoiceTx(*inv)
		if err := jt.Validate(); err != nil {
			return fmt.Errorf("invoice %s: %w", inv.Number, err)
		}
		txRows = append(txRows, []any{txIDs[i], string(jt.Kind), inv.AccountID, inv.ID, string(inv.Currency), jt.Memo,
			pgDate(jt.EffectiveDate), now, actor})
		for k, e := range jt.Entries {
			entryRows = append(entryRows, []any{txIDs[i], int16(k + 1), inv.AccountID, e.Ledger, e.Amount})
		}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"invoices", []string{"id", "number", "account_id", "period_start", "period_end", "issue_date", "due_date",
			"delinquency_date", "currency", "subtotal", "tax", "total", "why", "billing_run_id", "created_at", "kind"}, invRows},
		{"invoice_lines", []string{"invoice_id", "line_no", "kind", "description", "service_id", "charge_id",
			"period_start", "period_end", "amount", "taxable"}, lineRows},
		{"journal_transactions", []string{"id", "kind", "account_id", "invoice_id", "currency", "memo", "effective_date", "posted_at", "actor"}, txRows},
		{"journal_entries", []string{"tx_id", "entry_no", "account_id", "ledger", "amount"}, entryRows},
		{"service_billed_spans", spanColumns, spanRows},
	}
	for _, c := range copies {
		if len(c.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return mapError(fmt.Errorf("write %s: %w", c.table, err))
		}
	}
	if len(chargeIDs) > 0 {
		tag, err := tx.Exec(ctx, `UPDATE one_time_charges c SET invoice_id = u.inv
			FROM unnest($1::bigint[], $2::bigint[]) AS u(id, inv) WHERE c.id = u.id AND c.invoice_id IS NULL`, chargeIDs, chargeInv)
		if err != nil {
			return err
		}
		if int(tag.RowsAffected()) != len(chargeIDs) {
			return fmt.Errorf("one-time charges changed while being invoiced; retry")
		}
	}
	return nil
}

// invoiceNumber is the invoice's human number: "INV-0001234".
func invoiceNumber(id int64) string {
	n := strconv.FormatInt(id, 10)
	if len(n) < 7 {
		n = strings.Repeat("0", 7-len(n)) + n
	}
	return "INV-" + n
}

// applyCredit applies credit that invoiced accounts already have (an
// overpayment, a prepayment, an open credit note) to their new invoices,
// so nobody is asked, or charged by autopay, for what they have paid; a
// new credit note among the invoices pays the open ones. Only accounts with
// credit are locked (in id order, like every multi-account lock here) and
// allocated: credit notes first (their credit cannot be refunded; a
// payment's can), then payments.
func applyCredit(ctx context.Context, tx pgx.Tx, invoices []billing.Invoice) error {
	if len(invoices) == 0 {
		return nil
	}
	ids := make([]int64, len(invoices))
	for i, inv := range invoices {
		ids[i] = inv.AccountID
	}
	// Two set-based reads, not "EXISTS … OR EXISTS …": PostgreSQL cannot
	// turn an OR of correlated EXISTS into semi-joins, and probing both per
	// account doubled a billing run's time.
	rows, err := tx.Query(ctx, `SELECT a.id FROM accounts a WHERE a.id IN (
			SELECT p.account_id FROM payments p WHERE p.account_id = ANY($1) AND p.status = 'posted'
				AND p.allocated < p.amount - p.refunded - p.refund_reserved
			UNION
			SELECT i.account_id FROM invoices i WHERE i.account_id = ANY($1) AND i.status = 'open' AND i.total < 0 AND i.paid > i.total)
		ORDER BY a.id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	withCredit, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(withCredit) == 0 {
		return err
	}
	if err := applyCreditNotes(ctx, tx, withCredit...); err != nil {
		return err
	}
	_, err = allocate(ctx, tx, withCredit...)
	return err
}

func nextIDs(ctx context.Context, tx pgx.Tx, seq string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval($1::regclass) FROM generate_series(1, $2)`, seq, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
