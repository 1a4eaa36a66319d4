package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// The reports' seeded ledger: three accounts on a 49.99 monthly plan with
// 6.25% tax (53.11 an invoice: 49.99 + 3.12), billed from January 2026.
// The account type issues 5 days before the period and is due 14 days
// later: the January, February and March invoices are issued Dec 27,
// Jan 27 and Feb 24 and due Jan 10, Feb 10 and Mar 10; April's is issued
// Mar 27. Account B pays January by a check deposited on a slip on Feb 5;
// account C pays 100.00 by a check received Feb 20 and put on no slip.
type reportLedger struct {
	db      *postgres.DB
	a, b, c billing.Account
	payC    billing.Payment
}

func d(y int, m time.Month, day int) billing.Date { return billing.NewDate(y, m, day) }

func seedReportLedger(t *testing.T) reportLedger {
	t.Helper()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 3, d(2026, 1, 1))
	runBilling(t, db, typ.ID, d(2026, 3, 27), 10)
	l := reportLedger{db: db, a: accounts[0], b: accounts[1], c: accounts[2]}
	invs, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: l.a.ID})
	if err != nil || len(invs) != 4 {
		t.Fatalf("invoices %+v %v", invs, err)
	}
	for i, due := range []billing.Date{d(2026, 1, 10), d(2026, 2, 10), d(2026, 3, 10), d(2026, 4, 10)} {
		inv := invs[len(invs)-1-i]
		if invs[0].IssueDate.Before(invs[1].IssueDate) {
			inv = invs[i]
		}
		if inv.DueDate != due || inv.Total != 5311 || inv.Tax != 312 {
			t.Fatalf("invoice %d: due %s total %d tax %d; the worked numbers assume due %s, 53.11 with 3.12 tax", i, inv.DueDate, inv.Total, inv.Tax, due)
		}
	}
	batch, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: d(2026, 2, 5), DepositAccount: "First Bank 1234"}, "clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddBatchLines(ctx, batch.ID, []billing.BatchLine{{Account: l.b.Number, Method: billing.PayCheck, Amount: 5311, Reference: "501"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostBatch(ctx, batch.ID, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	l.payC, err = db.PostPayment(ctx, billing.NewPayment{AccountID: l.c.ID, Method: billing.PayCheck, Amount: 10000, Reference: "777", ReceivedDate: d(2026, 2, 20)}, "clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func aging(t *testing.T, db *postgres.DB, asOf billing.Date) reports.AgingReport {
	t.Helper()
	accounts, invoices, err := db.AgingInputs(context.Background(), asOf)
	if err != nil {
		t.Fatal(err)
	}
	return reports.Aging(asOf, accounts, invoices, true)
}

func rowOf(t *testing.T, r reports.AgingReport, id int64) reports.Buckets {
	t.Helper()
	for _, row := range r.Rows {
		if row.AccountID == id {
			return row.Buckets
		}
	}
	return reports.Buckets{}
}

func TestAgingFromTheLedgerAsOfADate(t *testing.T) {
	l := seedReportLedger(t)
	// As of Mar 15, January's invoice is 64 days past due (61–90),
	// February's 33 (31–60), March's 5 (1–30); April's is not issued yet.
	r := aging(t, l.db, d(2026, 3, 15))
	for _, c := range []struct {
		name string
		id   int64
		want reports.Buckets
	}{
		{"A owes all three", l.a.ID, reports.Buckets{Days61To90: 5311, Days31To60: 5311, Days1To30: 5311, Total: 15933}},
		{"B paid January", l.b.ID, reports.Buckets{Days31To60: 5311, Days1To30: 5311, Total: 10622}},
		// C's 100.00 paid January (53.11) and 46.89 of February: 6.22 left.
		{"C paid 100.00", l.c.ID, reports.Buckets{Days31To60: 622, Days1To30: 5311, Total: 5933}},
	} {
		if got := rowOf(t, r, c.id); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	want := reports.Buckets{Days61To90: 5311, Days31To60: 5311 + 5311 + 622, Days1To30: 3 * 5311, Total: 15933 + 10622 + 5933}
	if len(r.Totals) != 1 || r.Totals[0].Buckets != want || r.Totals[0].Accounts != 3 {
		t.Errorf("totals %+v, want %+v", r.Totals, want)
	}
	if len(r.ByPOP) != 1 || r.ByPOP[0].Key != "pop-1" || len(r.ByType) != 1 || r.ByType[0].Key != "residential" {
		t.Errorf("groups %+v %+v", r.ByPOP, r.ByType)
	}

	// The invoices list filters by issue date: February issued one to A
	// (Feb 24), and three in all.
	feb, err := l.db.Invoices(context.Background(), billing.InvoiceFilter{AccountID: l.a.ID, IssuedFrom: d(2026, 2, 1), IssuedTo: d(2026, 2, 28)})
	if err != nil || len(feb) != 1 || feb[0].IssueDate != d(2026, 2, 24) {
		t.Errorf("A's February invoices: %+v %v", feb, err)
	}
	if all, err := l.db.Invoices(context.Background(), billing.InvoiceFilter{IssuedFrom: d(2026, 2, 1), IssuedTo: d(2026, 2, 28)}); err != nil || len(all) != 3 {
		t.Errorf("February's invoices: %d %v", len(all), err)
	}

	// As of Feb 1 nobody had paid: January 22 days past due, February
	// current. A check for January dated Jan 20, entered now into the open
	// period, changes that reading; a later one does not.
	before := aging(t, l.db, d(2026, 2, 1))
	if got := rowOf(t, before, l.a.ID); got != (reports.Buckets{Days1To30: 5311, Current: 5311, Total: 10622}) {
		t.Fatalf("A as of Feb 1: %+v", got)
	}
	if _, err := l.db.PostPayment(context.Background(), billing.NewPayment{AccountID: l.a.ID, Method: billing.PayCheck, Amount: 5311, Reference: "1200", ReceivedDate: d(2026, 1, 20)}, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	after := aging(t, l.db, d(2026, 2, 1))
	if got := rowOf(t, after, l.a.ID); got != (reports.Buckets{Current: 5311, Total: 5311}) {
		t.Errorf("A as of Feb 1 after a check dated Jan 20: %+v", got)
	}
	if got := rowOf(t, aging(t, l.db, d(2026, 1, 19)), l.a.ID); got != (reports.Buckets{Days1To30: 5311, Total: 5311}) {
		t.Errorf("A as of Jan 19 (before the check): %+v", got)
	}
}

func taxReport(t *testing.T, db *postgres.DB, from, to billing.Date) reports.TaxReport {
	t.Helper()
	invs, err := db.TaxInputs(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	return reports.TaxLiability(from, to, invs)
}

func paymentsReport(t *testing.T, db *postgres.DB, f reports.PaymentFilter) reports.PaymentsReport {
	t.Helper()
	ps, bs, err := db.PaymentInputs(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return reports.Payments(f.From, f.To, ps, bs)
}

func TestPaymentsReportFindsTheCheckMissingFromTheDeposit(t *testing.T) {
	l := seedReportLedger(t)
	r := paymentsReport(t, l.db, reports.PaymentFilter{From: d(2026, 2, 1), To: d(2026, 2, 28)})
	if len(r.Payments) != 2 || len(r.Deposits) != 1 || len(r.Cash) != 1 {
		t.Fatalf("report %+v", r)
	}
	// Received 53.11 + 100.00 by check; the slip took 53.11; C's check
	// 777 is on no slip.
	c := r.Cash[0]
	if c.Received != 15311 || c.Deposited != 5311 || c.NotDepositedTotal != 10000 || c.Difference != 0 ||
		len(c.NotDeposited) != 1 || c.NotDeposited[0].Reference != "777" {
		t.Errorf("reconciliation %+v", c)
	}
	if dep := r.Deposits[0]; dep.SlipCount != 1 || dep.SlipTotal != 5311 || dep.Account != "First Bank 1234" {
		t.Errorf("deposit %+v", dep)
	}
	if only := paymentsReport(t, l.db, reports.PaymentFilter{From: d(2026, 2, 1), To: d(2026, 2, 28), Method: "cash"}); len(only.Payments) != 0 {
		t.Errorf("cash only: %+v", only.Payments)
	}
	if march := paymentsReport(t, l.db, reports.PaymentFilter{From: d(2026, 3, 1), To: d(2026, 3, 31)}); len(march.Payments) != 0 || len(march.Deposits) != 0 {
		t.Errorf("march: %+v", march)
	}
}

// Closing February (and January with it) freezes their reports: a void and
// a returned check dated into February post on March 1, keep their own
// date, and change March's reports only; a billing run dated in February
// is refused.
func TestClosedPeriodReportsNeverChange(t *testing.T) {
	l := seedReportLedger(t)
	ctx := context.Background()
	febTax := taxReport(t, l.db, d(2026, 2, 1), d(2026, 2, 28))
	// Issued in February: the three March invoices (Feb 24), 49.99 and
	// 3.12 tax each.
	if len(febTax.Rows) != 1 || febTax.Rows[0].TaxableSales != 3*4999 || febTax.Rows[0].NetTax != 3*312 || !strings.HasPrefix(febTax.Rows[0].Rate, "TX sales tax") {
		t.Fatalf("February tax %+v", febTax.Rows)
	}
	febAging := aging(t, l.db, d(2026, 2, 28))

	if _, err := l.db.ClosePeriod(ctx, d(2026, 2, 1), "controller", time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("closing February before it ended everywhere: %v", err)
	}
	c, err := l.db.ClosePeriod(ctx, d(2026, 2, 1), "controller", t0)
	if err != nil || c.Through != d(2026, 2, 28) {
		t.Fatalf("close %+v %v", c, err)
	}
	if _, err := l.db.ClosePeriod(ctx, d(2026, 1, 1), "controller", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Errorf("closing January again: %v", err)
	}

	// A's March invoice (issued Feb 24) voided as of Feb 25; C's check
	// returned as of Feb 26.
	invs, err := l.db.Invoices(ctx, billing.InvoiceFilter{AccountID: l.a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var march billing.Invoice
	for _, inv := range invs {
		if inv.IssueDate == d(2026, 2, 24) {
			march = inv
		}
	}
	if _, err := l.db.VoidInvoice(ctx, march.ID, "billed in error", d(2026, 2, 25), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.ReversePayment(ctx, l.payC.ID, billing.Reversal{Reason: billing.ReverseNSF}, "clerk", time.Date(2026, 2, 26, 18, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var effective, original string
	if err := l.db.Pool.QueryRow(ctx, `SELECT effective_date::text, original_date::text FROM journal_transactions WHERE kind = 'payment_reversed'`).Scan(
		&effective, &original); err != nil {
		t.Fatal(err)
	}
	if effective != "2026-03-01" || original != "2026-02-26" {
		t.Errorf("the reversal posted on %s (original %s), want Mar 1 keeping Feb 26", effective, original)
	}

	// A check received Feb 27 and entered now keeps its received date and
	// posts on Mar 1.
	late, err := l.db.PostPayment(ctx, billing.NewPayment{AccountID: l.b.ID, Method: billing.PayCheck, Amount: 100, Reference: "2718", ReceivedDate: d(2026, 2, 27)}, "clerk", t0)
	if err != nil || late.ReceivedDate != d(2026, 2, 27) {
		t.Fatalf("late check %+v %v", late, err)
	}
	if bLines, err := l.db.Statement(ctx, l.b.ID); err != nil || bLines[len(bLines)-1].EffectiveDate != d(2026, 3, 1) || bLines[len(bLines)-1].OriginalDate != d(2026, 2, 27) {
		t.Errorf("the late check's statement line: %+v %v", bLines[len(bLines)-1], err)
	}
	// The account's statement shows both dates.
	lines, err := l.db.Statement(ctx, l.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := lines[len(lines)-1]; last.Kind != billing.TxPaymentReversed || last.EffectiveDate != d(2026, 3, 1) || last.OriginalDate != d(2026, 2, 26) {
		t.Errorf("statement's last line %+v", last)
	}
	if lines[0].OriginalDate != (billing.Date{}) {
		t.Errorf("an entry in an open period has an original date: %+v", lines[0])
	}
	if got := taxReport(t, l.db, d(2026, 2, 1), d(2026, 2, 28)); len(got.Rows) != 1 || got.Rows[0] != febTax.Rows[0] {
		t.Errorf("closed February's tax changed: %+v, was %+v", got.Rows, febTax.Rows)
	}
	if got := aging(t, l.db, d(2026, 2, 28)); !sameAging(got, febAging) {
		t.Errorf("closed February's aging changed:\n%+v\nwas\n%+v", got.Totals, febAging.Totals)
	}
	// March (open) carries both: the void takes 49.99 and 3.12 back from
	// the three April invoices (Mar 27) it also issued.
	marTax := taxReport(t, l.db, d(2026, 3, 1), d(2026, 3, 31))
	if len(marTax.Rows) != 1 || marTax.Rows[0].TaxableSales != 3*4999 || marTax.Rows[0].VoidedSales != 4999 || marTax.Rows[0].VoidedTax != 312 || marTax.Rows[0].NetTax != 2*312 {
		t.Errorf("March tax %+v", marTax.Rows)
	}
	var ledgerTax int64
	if err := l.db.Pool.QueryRow(ctx, `SELECT -sum(e.amount) FROM journal_entries e JOIN journal_transactions x ON x.id = e.tx_id
		WHERE e.ledger = 'tax_payable' AND x.effective_date BETWEEN '2026-03-01' AND '2026-03-31'`).Scan(&ledgerTax); err != nil || ledgerTax != marTax.Rows[0].NetTax {
		t.Errorf("tax_payable moved %d in March, the report says %d (%v)", ledgerTax, marTax.Rows[0].NetTax, err)
	}
	// As of Mar 15, C's check no longer pays anything, A's March invoice
	// is gone.
	r := aging(t, l.db, d(2026, 3, 15))
	if got := rowOf(t, r, l.c.ID); got != (reports.Buckets{Days61To90: 5311, Days31To60: 5311, Days1To30: 5311, Total: 15933}) {
		t.Errorf("C as of Mar 15 after the returned check: %+v", got)
	}
	if got := rowOf(t, r, l.a.ID); got != (reports.Buckets{Days61To90: 5311, Days31To60: 5311, Total: 10622}) {
		t.Errorf("A as of Mar 15 after the void: %+v", got)
	}

	// Aging reads a close's receivable snapshot and the journal after it:
	// the same reports as from the journal alone, on either side of the
	// closes, and a second close's snapshot is made from the first's.
	// B overpays in March: a credit balance from then on, in March's
	// snapshot too.
	if _, err := l.db.PostPayment(ctx, billing.NewPayment{AccountID: l.b.ID, Method: billing.PayCheck, Amount: 100000, Reference: "3141", ReceivedDate: d(2026, 3, 20)}, "clerk", t0); err != nil {
		t.Fatal(err)
	}
	asOfs := []billing.Date{d(2026, 1, 31), d(2026, 2, 28), d(2026, 3, 1), d(2026, 3, 15), d(2026, 3, 31), d(2026, 4, 30), d(2026, 11, 1)}
	fromJournal := make([]reports.AgingReport, len(asOfs))
	for i, asOf := range asOfs {
		fromJournal[i] = aging(t, l.db, asOf)
	}
	if _, err := l.db.ClosePeriod(ctx, d(2026, 3, 1), "controller", t0); err != nil {
		t.Fatal(err)
	}
	if err := l.db.MakeReceivableSnapshots(ctx, t0); err != nil {
		t.Fatal(err)
	}
	var snapshots, withBalance int
	if err := l.db.Pool.QueryRow(ctx, `SELECT count(*), sum(accounts) FROM receivable_snapshots`).Scan(&snapshots, &withBalance); err != nil || snapshots != 2 || withBalance == 0 {
		t.Fatalf("%d snapshots of %d balances (%v), want February's and March's", snapshots, withBalance, err)
	}
	for i, asOf := range asOfs {
		if got := aging(t, l.db, asOf); !sameAging(got, fromJournal[i]) {
			t.Errorf("aging as of %s from the snapshot:\n%+v\nfrom the journal:\n%+v", asOf, got.Rows, fromJournal[i].Rows)
		}
	}
	if err := l.db.MakeReceivableSnapshots(ctx, t0); err != nil {
		t.Fatalf("again, with nothing to make: %v", err)
	}

	// Nothing is billed into the closed period.
	err = pgx.BeginTxFunc(ctx, l.db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		_, _, err := postgres.CreateBillingRunTx(ctx, tx, l.a.AccountTypeID, d(2026, 2, 24), billing.TriggerOnDemand, "test", 10, t0)
		return err
	})
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("billing run dated in a closed period: %v", err)
	}
}

func sameAging(a, b reports.AgingReport) bool {
	if len(a.Rows) != len(b.Rows) || len(a.Totals) != len(b.Totals) {
		return false
	}
	for i := range a.Rows {
		if a.Rows[i] != b.Rows[i] {
			return false
		}
	}
	for i := range a.Totals {
		if a.Totals[i] != b.Totals[i] {
			return false
		}
	}
	return true
}

// Revenue from the seeded ledger: by March 31 the three accounts were
// billed January to April (issued Dec 27 to Mar 27); in March only the
// April invoices (49.99 each, tax left out). MRR: three services at 49.99
// all along.
func TestRevenueFromTheLedger(t *testing.T) {
	l := seedReportLedger(t)
	from, to := d(2026, 3, 1), d(2026, 3, 31)
	lines, services, err := l.db.RevenueInputs(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	r := reports.Revenue(from, to, lines, services)
	if len(r.ByPlan) != 1 || r.ByPlan[0].Key != "Fiber 100" || r.ByPlan[0].Recurring != 3*4999 || r.ByPlan[0].Total != 3*4999 ||
		len(r.ByPOP) != 1 || r.ByPOP[0].Key != "pop-1" || len(r.ByType) != 1 {
		t.Errorf("revenue %+v %+v %+v", r.ByPlan, r.ByPOP, r.ByType)
	}
	if want := (reports.MRRMovement{Currency: "USD", Opening: 3 * 4999, Closing: 3 * 4999}); len(r.MRR) != 1 || r.MRR[0] != want {
		t.Errorf("MRR %+v, want %+v", r.MRR, want)
	}
}
