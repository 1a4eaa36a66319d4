package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// The reports' inputs (issue 20), each read in one set-based statement as
// of a date: journal transactions and allocation events effective on or
// before it. The arithmetic is controller/reports'.

// AgingInputs reads, as of asOf, the accounts whose receivable balance
// (journal entries effective by then) is not zero, and every invoice
// issued and not voided by then with something left open (its total less
// its allocation events by then), both by account id; an account with an
// open invoice and a zero balance (credit as large as what it owes) is
// read too. The two reads run at once, each on its own connection in a
// read-only transaction with the memory to hash the journal (work_mem).
func (db *DB) AgingInputs(ctx context.Context, asOf billing.Date) ([]reports.AgingAccount, []reports.AgingInvoice, error) {
	d := pgDate(asOf)
	var accounts []reports.AgingAccount
	var invoices []reports.AgingInvoice
	var accErr, invErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		accErr = db.agingRead(ctx, func(tx pgx.Tx) (err error) {
			// The balances at the latest close on or before asOf, if its
			// snapshot is made, plus what was posted after it; else the
			// whole journal.
			var snap *time.Time
			if err := tx.QueryRow(ctx, `SELECT max(through) FROM receivable_snapshots WHERE through <= $1`, d).Scan(&snap); err != nil {
				return err
			}
			balances := `SELECT e.account_id, sum(e.amount)::bigint AS balance
					FROM journal_entries e JOIN journal_transactions x ON x.id = e.tx_id
					WHERE e.ledger = 'accounts_receivable' AND x.effective_date <= $1 GROUP BY e.account_id
					HAVING sum(e.amount) <> 0`
			args := []any{d}
			if snap != nil {
				// The snapshot's balances joined with what was posted after
				// it: a few days of the journal, its transactions by date
				// and their entries by key (OFFSET 0 keeps PostgreSQL from
				// hashing the whole journal instead, seconds over a million
				// accounts).
				balances = `WITH delta AS (
						SELECT e.account_id, sum(e.amount)::bigint AS amount
						FROM journal_transactions x
						CROSS JOIN LATERAL (SELECT e.account_id, e.amount FROM journal_entries e
							WHERE e.tx_id = x.id AND e.ledger = 'accounts_receivable' OFFSET 0) e
						WHERE x.effective_date > $2 AND x.effective_date <= $1
						GROUP BY e.account_id)
					SELECT coalesce(s.account_id, d.account_id) AS account_id, coalesce(s.balance, 0) + coalesce(d.amount, 0) AS balance
					FROM (SELECT account_id, balance FROM receivable_at_close WHERE through = $2) s
					FULL JOIN delta d ON d.account_id = s.account_id
					WHERE coalesce(s.balance, 0) + coalesce(d.amount, 0) <> 0`
				args = append(args, *snap)
			}
			accounts, err = scanAgingAccounts(tx.Query(ctx, agingAccountsSQL+`
				FROM (`+balances+`) b
				JOIN accounts a ON a.id = b.account_id JOIN account_types t ON t.id = a.account_type_id
				ORDER BY a.id`, args...))
			return err
		})
	})
	wg.Go(func() {
		invErr = db.agingRead(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				SELECT i.account_id, i.due_date, i.total - coalesce(ev.sum, 0)
				FROM invoices i
				LEFT JOIN (SELECT invoice_id, sum(amount)::bigint AS sum FROM allocation_events WHERE effective_date <= $1 GROUP BY invoice_id) ev
					ON ev.invoice_id = i.id
				WHERE i.issue_date <= $1 AND i.total > 0 AND i.total - coalesce(ev.sum, 0) > 0
					AND NOT (i.status = 'void' AND EXISTS (SELECT 1 FROM journal_transactions v
						WHERE v.invoice_id = i.id AND v.kind = 'invoice_voided' AND v.effective_date <= $1))
				ORDER BY i.account_id, i.due_date`, d)
			if err != nil {
				return err
			}
			invoices, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.AgingInvoice, error) {
				var i reports.AgingInvoice
				err := r.Scan(&i.AccountID, scanDate(&i.DueDate), &i.Open)
				return i, err
			})
			return err
		})
	})
	wg.Wait()
	if err := cmp.Or(accErr, invErr); err != nil {
		return nil, nil, err
	}
	if missing := reports.AccountsMissing(accounts, invoices); len(missing) > 0 {
		more, err := scanAgingAccounts(db.Pool.Query(ctx, agingAccountsSQL+`
			FROM (SELECT unnest($1::bigint[]) AS account_id, 0::bigint AS balance) b
			JOIN accounts a ON a.id = b.account_id JOIN account_types t ON t.id = a.account_type_id`, missing))
		if err != nil {
			return nil, nil, err
		}
		accounts = reports.MergeAccounts(accounts, more)
	}
	return accounts, invoices, nil
}

// agingAccountsSQL selects an aging account's columns from a balance
// subquery b joined to accounts a and account_types t.
const agingAccountsSQL = `SELECT a.id, a.number, a.name, t.name,
	coalesce((SELECT s.pop_id FROM services s WHERE s.account_id = a.id ORDER BY s.id LIMIT 1), ''), a.currency, b.balance`

func scanAgingAccounts(rows pgx.Rows, err error) ([]reports.AgingAccount, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.AgingAccount, error) {
		var a reports.AgingAccount
		err := r.Scan(&a.AccountID, &a.Number, &a.Name, &a.AccountType, &a.POP, &a.Currency, &a.Balance)
		return a, err
	})
}

// agingRead runs fn in a read-only transaction that may hash the journal
// in memory, without JIT compilation (a few hundred milliseconds of a
// million-account report, for statements run once).
func (db *DB) agingRead(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// TaxInputs reads the invoices whose issue or void the journal dates in
// [from, to], with their lines and the account's tax jurisdiction.
func (db *DB) TaxInputs(ctx context.Context, from, to billing.Date) ([]reports.TaxInvoice, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT t.id, i.id, t.kind = 'invoice_voided', a.tax_jurisdiction, i.currency, l.kind, l.description, l.amount, l.taxable
		FROM journal_transactions t JOIN invoices i ON i.id = t.invoice_id JOIN accounts a ON a.id = i.account_id
		JOIN invoice_lines l ON l.invoice_id = i.id
		WHERE t.kind IN ('invoice_issued', 'invoice_voided') AND t.effective_date BETWEEN $1 AND $2
		ORDER BY t.id, l.line_no`, pgDate(from), pgDate(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reports.TaxInvoice
	var lastTx int64
	for rows.Next() {
		var txID int64
		var inv reports.TaxInvoice
		var l reports.TaxLine
		if err := rows.Scan(&txID, &inv.InvoiceID, &inv.Voided, &inv.Jurisdiction, &inv.Currency, &l.Kind, &l.Description, &l.Amount, &l.Taxable); err != nil {
			return nil, err
		}
		if txID != lastTx || len(out) == 0 {
			out = append(out, inv)
			lastTx = txID
		}
		out[len(out)-1].Lines = append(out[len(out)-1].Lines, l)
	}
	return out, rows.Err()
}

// PaymentInputs reads the payments f selects, by journal date and id, and
// the posted deposit batches dated in f's period with their lines and the
// payments those posted.
func (db *DB) PaymentInputs(ctx context.Context, f reports.PaymentFilter) ([]reports.PaymentLine, []reports.DepositBatch, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT p.id, p.account_id, a.number, p.method, p.amount, p.refunded, p.currency, p.reference, p.payer, p.received_date,
			t.effective_date, p.status, coalesce(p.batch_id, 0), p.gateway, p.posted_by
		FROM payments p JOIN journal_transactions t ON t.id = p.journal_tx_id JOIN accounts a ON a.id = p.account_id
		WHERE t.effective_date BETWEEN $1 AND $2 AND ($3 = '' OR p.method = $3) AND ($4 = 0 OR p.batch_id = $4)
			AND ($5 = '' OR p.gateway = $5) AND ($6 = '' OR p.posted_by = $6)
		ORDER BY t.effective_date, p.id`, pgDate(f.From), pgDate(f.To), f.Method, f.BatchID, f.Gateway, f.PostedBy)
	if err != nil {
		return nil, nil, err
	}
	payments, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.PaymentLine, error) {
		var p reports.PaymentLine
		err := r.Scan(&p.ID, &p.AccountID, &p.AccountNumber, &p.Method, &p.Amount, &p.Refunded, &p.Currency, &p.Reference, &p.Payer,
			scanDate(&p.ReceivedDate), scanDate(&p.EffectiveDate), &p.Status, &p.BatchID, &p.Gateway, &p.PostedBy)
		return p, err
	})
	if err != nil {
		return nil, nil, err
	}
	rows, err = db.Pool.Query(ctx, `
		SELECT b.id, b.deposit_date, b.deposit_account, coalesce(p.id, 0), l.method, l.amount, l.reference
		FROM payment_batches b JOIN payment_batch_lines l ON l.batch_id = b.id
		LEFT JOIN payments p ON p.batch_id = b.id AND p.batch_line = l.line_no
		WHERE b.status = 'posted' AND b.deposit_date BETWEEN $1 AND $2 AND ($3 = 0 OR b.id = $3)
		ORDER BY b.id, l.line_no`, pgDate(f.From), pgDate(f.To), f.BatchID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var batches []reports.DepositBatch
	for rows.Next() {
		var b reports.DepositBatch
		var l reports.DepositLine
		if err := rows.Scan(&b.ID, scanDate(&b.DepositDate), &b.Account, &l.PaymentID, &l.Method, &l.Amount, &l.Reference); err != nil {
			return nil, nil, err
		}
		if len(batches) == 0 || batches[len(batches)-1].ID != b.ID {
			batches = append(batches, b)
		}
		batches[len(batches)-1].Lines = append(batches[len(batches)-1].Lines, l)
	}
	return payments, batches, rows.Err()
}

// PeriodClose is one close of the books.
type PeriodClose = reports.PeriodClose

// ClosedThrough returns the last closed day (zero: nothing closed).
func (db *DB) ClosedThrough(ctx context.Context) (billing.Date, error) {
	return closedThrough(ctx, db.Pool)
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func closedThrough(ctx context.Context, q rowQuerier) (billing.Date, error) {
	var d billing.Date
	err := q.QueryRow(ctx, `SELECT through FROM period_closes ORDER BY through DESC LIMIT 1`).Scan(scanDate(&d))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Date{}, nil
	}
	return d, err
}

// ClosePeriod closes the books through the end of the month starting on
// month (reports.CheckClose decides, with today as the date where it is
// latest on earth, UTC−12, so a month is over in every account's zone).
// Serialised by a lock on the closes table.
func (db *DB) ClosePeriod(ctx context.Context, month billing.Date, by string, now time.Time) (PeriodClose, error) {
	var c PeriodClose
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE period_closes IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		closed, err := closedThrough(ctx, tx)
		if err != nil {
			return err
		}
		through, err := reports.CheckClose(month, closed, billing.DateIn(now, time.FixedZone("UTC-12", -12*3600)))
		if err != nil {
			return err
		}
		c = PeriodClose{Through: through, ClosedBy: by, ClosedAt: now.UTC()}
		_, err = tx.Exec(ctx, `INSERT INTO period_closes (through, closed_by, closed_at) VALUES ($1, $2, $3)`, pgDate(through), by, now)
		return err
	})
	return c, err
}

// snapshotWait is how long MakeReceivableSnapshots waits for the
// transactions in progress when it starts.
const snapshotWait = 2 * time.Minute

// MakeReceivableSnapshots keeps, for every close without one (the caller of
// ClosePeriod calls it after the close; a close left without one, as when
// the controller stopped, gets it then too), each
// account's receivable balance at the close's last day (only balances that
// are not zero), oldest close first, each from the snapshot before it plus
// the journal between them. It first waits (up to snapshotWait) for every
// transaction in progress when it starts to end: a posting that read the
// closes before the latest close committed may still insert a transaction
// dated into the closed period, and the snapshot must hold it. Errors: the
// database's, or the wait's deadline; the snapshots made stay.
func (db *DB) MakeReceivableSnapshots(ctx context.Context, now time.Time) error {
	rows, err := db.Pool.Query(ctx, `SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x`)
	if err != nil {
		return err
	}
	running, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, snapshotWait)
	defer cancel()
	for len(running) > 0 {
		if err := db.Pool.QueryRow(wait, `SELECT coalesce(array_agg(x), '{}') FROM unnest($1::text[]) x
			WHERE pg_xact_status(x::xid8) = 'in progress'`, running).Scan(&running); err != nil {
			return fmt.Errorf("waiting for the transactions in progress: %w", err)
		}
		if len(running) > 0 {
			select {
			case <-wait.Done():
				return fmt.Errorf("waiting for %d transactions in progress: %w", len(running), wait.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	rows, err = db.Pool.Query(ctx, `SELECT c.through, (SELECT max(s.through) FROM receivable_snapshots s WHERE s.through < c.through)
		FROM period_closes c WHERE NOT EXISTS (SELECT 1 FROM receivable_snapshots s WHERE s.through = c.through) ORDER BY c.through`)
	if err != nil {
		return err
	}
	type missing struct {
		Through  time.Time
		Previous *time.Time
	}
	todo, err := pgx.CollectRows(rows, pgx.RowToStructByPos[missing])
	if err != nil {
		return err
	}
	var previous *time.Time
	for i, m := range todo {
		if i == 0 {
			previous = m.Previous
		}
		err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO receivable_snapshots (through, accounts, made_at) VALUES ($1, 0, $2)`, m.Through, now); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO receivable_at_close (through, account_id, balance)
				SELECT $1, account_id, sum(balance)::bigint FROM (
					SELECT account_id, balance FROM receivable_at_close WHERE through = $2
					UNION ALL
					SELECT e.account_id, e.amount FROM journal_transactions x JOIN journal_entries e ON e.tx_id = x.id
					WHERE e.ledger = 'accounts_receivable' AND x.effective_date <= $1 AND ($2::date IS NULL OR x.effective_date > $2)) s
				GROUP BY account_id HAVING sum(balance) <> 0`, m.Through, previous)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE receivable_snapshots SET accounts = $2 WHERE through = $1`, m.Through, tag.RowsAffected())
			return err
		})
		if err == nil {
			// Statistics for aging's plan, which reads one snapshot.
			_, err = db.Pool.Exec(ctx, `ANALYZE receivable_at_close`)
		}
		if err != nil {
			return fmt.Errorf("the receivable snapshot through %s: %w", m.Through.Format(time.DateOnly), err)
		}
		previous = &m.Through
	}
	return nil
}

// PeriodCloses lists the closes, latest first.
func (db *DB) PeriodCloses(ctx context.Context) ([]PeriodClose, error) {
	rows, err := db.Pool.Query(ctx, `SELECT through, closed_by, closed_at FROM period_closes ORDER BY through DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PeriodClose, error) {
		var c PeriodClose
		err := r.Scan(scanDate(&c.Through), &c.ClosedBy, &c.ClosedAt)
		return c, err
	})
}

// RevenueInputs reads the lines (tax left out) of the invoices the journal
// issued or voided in [from, to] with their service's plan, the account's
// type and first POP; and every billed service's terms for MRR: plan ×
// quantity at the plan's price per month (quarterly and annual plans
// divided down, in whole minor units) from each term's effective day, or
// the service's plan and quantity from its start when it has no terms.
func (db *DB) RevenueInputs(ctx context.Context, from, to billing.Date) ([]reports.RevenueLine, []reports.MRRService, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT coalesce(pl.name, ''), at.name,
			coalesce((SELECT s.pop_id FROM services s WHERE s.account_id = a.id ORDER BY s.id LIMIT 1), ''),
			i.currency, l.kind, l.amount, t.kind = 'invoice_voided'
		FROM journal_transactions t JOIN invoices i ON i.id = t.invoice_id JOIN accounts a ON a.id = i.account_id
		JOIN account_types at ON at.id = a.account_type_id
		JOIN invoice_lines l ON l.invoice_id = i.id AND l.kind <> 'tax'
		LEFT JOIN services sv ON sv.id = l.service_id LEFT JOIN plans pl ON pl.id = sv.plan_id
		WHERE t.kind IN ('invoice_issued', 'invoice_voided') AND t.effective_date BETWEEN $1 AND $2
		ORDER BY t.id, l.line_no`, pgDate(from), pgDate(to))
	if err != nil {
		return nil, nil, err
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.RevenueLine, error) {
		var l reports.RevenueLine
		err := r.Scan(&l.Plan, &l.AccountType, &l.POP, &l.Currency, &l.Kind, &l.Amount, &l.Voided)
		return l, err
	})
	if err != nil {
		return nil, nil, err
	}
	rows, err = db.Pool.Query(ctx, `
		SELECT s.id, at.name, s.pop_id, a.currency, s.start_date, s.end_date,
			coalesce(st.effective, s.start_date), p.price * coalesce(st.quantity, s.quantity)
				/ CASE p.interval WHEN 'quarterly' THEN 3 WHEN 'annual' THEN 12 ELSE 1 END
		FROM services s JOIN accounts a ON a.id = s.account_id JOIN account_types at ON at.id = a.account_type_id
		LEFT JOIN service_terms st ON st.service_id = s.id
		JOIN plans p ON p.id = coalesce(st.plan_id, s.plan_id)
		WHERE s.plan_id IS NOT NULL AND s.start_date <= $2 AND (s.end_date IS NULL OR s.end_date > $1)
		ORDER BY s.id, 7`, pgDate(from), pgDate(to))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var services []reports.MRRService
	for rows.Next() {
		var s reports.MRRService
		var t reports.MRRTerm
		var end *time.Time
		if err := rows.Scan(&s.ServiceID, &s.AccountType, &s.POP, &s.Currency, scanDate(&s.Start), &end, scanDate(&t.Effective), &t.Monthly); err != nil {
			return nil, nil, err
		}
		if end != nil {
			s.End = billing.DateOf(end.UTC())
		}
		if len(services) == 0 || services[len(services)-1].ServiceID != s.ServiceID {
			services = append(services, s)
		}
		services[len(services)-1].Terms = append(services[len(services)-1].Terms, t)
	}
	return lines, services, rows.Err()
}

// PaymentsFiltered lists at most limit payments in id order after afterID
// that f selects: an account, a batch, a method, received from..to (zero:
// any).
func (db *DB) PaymentsFiltered(ctx context.Context, f reports.PaymentListFilter, afterID int64, limit int) ([]billing.Payment, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE ($1 = 0 OR account_id = $1) AND ($2 = 0 OR batch_id = $2) AND ($3 = '' OR method = $3)
			AND ($4::date IS NULL OR received_date >= $4) AND ($5::date IS NULL OR received_date <= $5) AND id > $6
		ORDER BY id LIMIT $7`, f.AccountID, f.BatchID, f.Method, pgDate(f.From), pgDate(f.To), afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Payment, error) { return scanPayment(r) })
}

// CollectionsInputs reads the status changes made in [from, to] (UTC
// days), the promise notes of the year before to (with the days the
// account's standing payments were received from the day each was made),
// and the suspension batches held in the period with their items' counts.
func (db *DB) CollectionsInputs(ctx context.Context, from, to billing.Date) ([]reports.StatusChange, []reports.PromiseNote, []reports.HeldBatch, error) {
	start, end := from.StartIn(time.UTC), to.AddDays(1).StartIn(time.UTC)
	rows, err := db.Pool.Query(ctx, `SELECT c.account_id, a.number, c.from_status, c.to_status, c.cause, c.at
		FROM account_status_changes c JOIN accounts a ON a.id = c.account_id
		WHERE c.at >= $1 AND c.at < $2 AND c.from_status <> c.to_status ORDER BY c.id`, start, end)
	if err != nil {
		return nil, nil, nil, err
	}
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.StatusChange, error) {
		var c reports.StatusChange
		err := r.Scan(&c.AccountID, &c.AccountNumber, &c.From, &c.To, &c.Cause, &c.At)
		return c, err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	rows, err = db.Pool.Query(ctx, `SELECT c.account_id, a.number, coalesce(c.why[1], ''), c.at,
			ARRAY(SELECT p.received_date FROM payments p WHERE p.account_id = c.account_id AND p.status = 'posted'
				AND p.received_date >= (c.at AT TIME ZONE 'UTC')::date ORDER BY 1)
		FROM account_status_changes c JOIN accounts a ON a.id = c.account_id
		WHERE c.cause = 'promise' AND c.at >= $1 AND c.at < $2 ORDER BY c.id`, start.AddDate(-1, 0, 0), end)
	if err != nil {
		return nil, nil, nil, err
	}
	promises, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.PromiseNote, error) {
		var p reports.PromiseNote
		var days []time.Time
		err := r.Scan(&p.AccountID, &p.AccountNumber, &p.Note, &p.At, &days)
		for _, d := range days {
			p.PaymentDays = append(p.PaymentDays, billing.DateOf(d.UTC()))
		}
		return p, err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	rows, err = db.Pool.Query(ctx, `SELECT b.id, b.status, b.created_at, count(i.account_id),
			count(*) FILTER (WHERE i.status = 'approved'), count(*) FILTER (WHERE i.status = 'cancelled')
		FROM suspension_batches b LEFT JOIN suspension_batch_items i ON i.batch_id = b.id
		WHERE b.created_at >= $1 AND b.created_at < $2 GROUP BY b.id ORDER BY b.id`, start, end)
	if err != nil {
		return nil, nil, nil, err
	}
	held, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reports.HeldBatch, error) {
		var h reports.HeldBatch
		err := r.Scan(&h.ID, &h.Status, &h.CreatedAt, &h.Accounts, &h.Approved, &h.Cancelled)
		return h, err
	})
	return changes, promises, held, err
}

// ListBalances reads, for the accounts ids, the balance from the journal
// and what is past due on their open invoices (due before today in the
// account type's zone at now), for the accounts list's columns.
func (db *DB) ListBalances(ctx context.Context, ids []int64, now time.Time) (map[int64][2]int64, error) {
	rows, err := db.Pool.Query(ctx, `SELECT a.id,
			coalesce((SELECT sum(e.amount) FROM journal_entries e WHERE e.account_id = a.id AND e.ledger = 'accounts_receivable'), 0)::bigint,
			coalesce((SELECT sum(i.total - i.paid) FROM invoices i WHERE i.account_id = a.id AND i.status = 'open'
				AND i.due_date < ($2::timestamptz AT TIME ZONE t.time_zone)::date), 0)::bigint
		FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = ANY($1)`, ids, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64][2]int64, len(ids))
	for rows.Next() {
		var id, bal, pastDue int64
		if err := rows.Scan(&id, &bal, &pastDue); err != nil {
			return nil, err
		}
		out[id] = [2]int64{bal, pastDue}
	}
	return out, rows.Err()
}
