package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// fixture creates an account type, a taxed plan and n accounts with one
// service each starting on start.
func fixture(t *testing.T, db *postgres.DB, n int, start billing.Date) (billing.AccountType, billing.Plan, []billing.Account) {
	t.Helper()
	ctx := context.Background()
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago",
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		HolidayCalendars:    []string{"US"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 4999, Currency: "USD", Interval: billing.IntervalMonthly, Taxable: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutTaxRate(ctx, billing.TaxRate{Jurisdiction: "US-TX", Name: "TX sales tax", Rate: "0.0625"}, t0); err != nil {
		t.Fatal(err)
	}
	var accounts []billing.Account
	for i := range n {
		a, created, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: "s@example.net", AccountTypeID: typ.ID,
			Currency: "USD", TaxJurisdiction: "US-TX", ExternalID: "ext-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)}, t0)
		if err != nil || !created {
			t.Fatalf("account %d: created=%v err=%v", i, created, err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"},
			AccountID: &aid, PlanID: &pid, StartDate: start}, "test", t0); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, a)
	}
	return typ, plan, accounts
}

func runBilling(t *testing.T, db *postgres.DB, typeID int64, date billing.Date, batchSize int) billing.BillingRun {
	t.Helper()
	ctx := context.Background()
	var run billing.BillingRun
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, typeID, date, billing.TriggerOnDemand, "test", batchSize, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for b := range run.TotalBatches {
		if _, err := db.RunBillingBatch(ctx, run.ID, b, t0); err != nil {
			t.Fatal(err)
		}
	}
	run, err = db.BillingRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func count(t *testing.T, db *postgres.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBillingRunInvoicesOnceAndLedgerBalances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 7, billing.NewDate(2026, 12, 1))

	// Periods start on the 1st; invoices are issued 5 days before: the
	// January period is issued on 2026-12-27.
	run := runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 3)
	if run.Status != billing.RunCompleted || run.TotalBatches != 3 || run.DoneAccounts != 7 {
		t.Fatalf("run: %+v", run)
	}
	invoices, err := db.Invoices(ctx, billing.InvoiceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if run.InvoicesCreated != len(invoices) || len(invoices) < 7 {
		t.Fatalf("run says %d invoices, table holds %d, want at least one per account", run.InvoicesCreated, len(invoices))
	}
	rows := count(t, db, "invoices") + count(t, db, "invoice_lines") + count(t, db, "journal_entries")

	// Re-running a finished batch, and a new run the next day that looks at
	// every account again, write nothing.
	if res, err := db.RunBillingBatch(ctx, run.ID, 0, t0); err != nil || res.Invoices != 0 {
		t.Fatalf("re-running a done batch: %+v %v", res, err)
	}
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 28), 2)
	if again := count(t, db, "invoices") + count(t, db, "invoice_lines") + count(t, db, "journal_entries"); again != rows {
		t.Fatalf("re-run wrote %d rows", again-rows)
	}

	for _, a := range accounts {
		bal, err := db.Balance(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		invs, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: a.ID})
		var sum int64
		for _, inv := range invs {
			sum += inv.Total
		}
		if bal != sum || bal <= 0 {
			t.Fatalf("account %s: balance %d, invoices total %d", a.Number, bal, sum)
		}
		st, err := db.Statement(ctx, a.ID)
		if err != nil || len(st) != len(invs) || st[len(st)-1].RunningBalance != bal {
			t.Fatalf("statement %+v err %v", st, err)
		}
	}
	var unbalanced int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx_id FROM journal_entries GROUP BY tx_id HAVING sum(amount) <> 0) s`).Scan(&unbalanced); err != nil || unbalanced != 0 {
		t.Fatalf("%d unbalanced journal transactions (err %v)", unbalanced, err)
	}
}

func TestJournalRejectsUnbalancedAndChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	_, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	a := accounts[0]
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO journal_transactions (id, kind, account_id, currency, effective_date, posted_at)
			VALUES (900, 'credit', $1, 'USD', '2026-12-01', now())`, a.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount) VALUES
			(900, 1, $1, 'accounts_receivable', -500), (900, 2, $1, 'credits_and_adjustments', 499)`, a.ID)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "does not balance") {
		t.Fatalf("unbalanced entries: got %v, want the database to refuse them", err)
	}
	jt, err := db.PostCredit(ctx, a.ID, 500, "goodwill", billing.NewDate(2026, 12, 2), "user:clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE journal_entries SET amount = amount * 2 WHERE tx_id = $1`,
		`DELETE FROM journal_entries WHERE tx_id = $1`,
		`UPDATE journal_transactions SET memo = 'edited' WHERE id = $1`,
	} {
		if _, err := db.Pool.Exec(ctx, stmt, jt.ID); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want the journal to refuse", stmt, err)
		}
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != -500 {
		t.Fatalf("balance after a 5.00 credit: %d", bal)
	}
}

func TestVoidInvoiceReverses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	invs, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: accounts[0].ID})
	if len(invs) == 0 {
		t.Fatal("no invoice")
	}
	before, _ := db.Balance(ctx, accounts[0].ID)
	v, err := db.VoidInvoice(ctx, invs[0].ID, "wrong plan", billing.NewDate(2026, 12, 28), t0)
	if err != nil || v.Status != billing.InvoiceVoid {
		t.Fatalf("void: %+v %v", v.Status, err)
	}
	after, _ := db.Balance(ctx, accounts[0].ID)
	if before-after != invs[0].Total {
		t.Fatalf("balance %d -> %d after voiding %d", before, after, invs[0].Total)
	}
	if _, err := db.VoidInvoice(ctx, invs[0].ID, "again", billing.NewDate(2026, 12, 28), t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("second void: %v", err)
	}
}

// One account with bad data must not hold up the others: it is reported in
// the run and billed by none of it.
func TestBillingRunReportsAccountsItCannotBill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 4, billing.NewDate(2026, 12, 1))
	// Data that bypassed the API's checks: a service billed on a plan in
	// another currency than its account's.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO plans (name, price, currency, interval, created_at) VALUES ('Euro plan', 100, 'EUR', 'monthly', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE services SET plan_id = (SELECT id FROM plans WHERE name = 'Euro plan') WHERE account_id = $1`, accounts[2].ID); err != nil {
		t.Fatal(err)
	}
	run := runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	if run.Status != billing.RunCompleted || run.FailedAccounts != 1 || run.InvoicesCreated != 6 { // December and January for each good account
		t.Fatalf("run: %+v", run)
	}
	if len(run.Errors) != 1 || run.Errors[0].AccountID != accounts[2].ID || !strings.Contains(run.Errors[0].Error, "EUR") {
		t.Fatalf("errors: %+v", run.Errors)
	}
	if invs, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: accounts[2].ID}); len(invs) != 0 {
		t.Fatalf("the bad account was invoiced: %+v", invs)
	}
	// The preview reports it too (it does not fail the others' preview).
	items, err := db.PreviewBilling(ctx, typ.ID, billing.NewDate(2026, 12, 27))
	if err != nil {
		t.Fatalf("preview with a bad account: %v", err)
	}
	failed := 0
	for _, it := range items {
		if it.Error != "" {
			failed++
			if it.AccountID != accounts[2].ID || !strings.Contains(it.Error, "EUR") {
				t.Errorf("preview item: %+v", it)
			}
		}
	}
	if failed != 1 || len(items) != 1 { // the good accounts are billed already
		t.Fatalf("preview: %d items, %d failed; want the 1 failed account", len(items), failed)
	}
}

func TestLateFeesOncePerInvoice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 2, billing.NewDate(2026, 12, 1))
	typ.LateFee = billing.LateFee{Kind: billing.LateFeeFlat, Amount: 500, AfterDays: 5}
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, typ.ID, billing.NewDate(2026, 11, 26), 10) // December invoices, due 2026-12-10
	before, _ := db.Balance(ctx, accounts[0].ID)
	// Not yet: due + 5 days is 2026-12-15.
	if n, err := db.ChargeLateFees(ctx, typ.ID, billing.NewDate(2026, 12, 15), t0); err != nil || n != 0 {
		t.Fatalf("fees on the last day of the allowance: %d %v", n, err)
	}
	if n, err := db.ChargeLateFees(ctx, typ.ID, billing.NewDate(2026, 12, 16), t0); err != nil || n != 2 {
		t.Fatalf("fees after the allowance: %d %v, want one per open invoice", n, err)
	}
	if n, err := db.ChargeLateFees(ctx, typ.ID, billing.NewDate(2026, 12, 17), t0); err != nil || n != 0 {
		t.Fatalf("fees the next day: %d %v, want none (one per invoice)", n, err)
	}
	if after, _ := db.Balance(ctx, accounts[0].ID); after-before != 500 {
		t.Fatalf("balance moved by %d, want the 5.00 fee", after-before)
	}
}
