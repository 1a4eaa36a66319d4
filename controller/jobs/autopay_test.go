package jobs

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

func TestAutopayChargesOnDueDateAndRetriesOnSchedule(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC", AutopayRetryDays: []int{1, 3}}, now)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber", Price: 5000, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	sandbox := payments.NewSandbox()
	sandbox.SetClock(clk)
	sandbox.SetLogger(quiet)
	charger := charge.New(sandbox, db, clk, quiet)
	accounts := map[string]int64{}
	for _, card := range []string{"4242424242424242", "4000000000000341"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sub " + card[12:], AccountTypeID: typ.ID, Currency: "USD", AnchorDate: billing.NewDate(2026, 12, 1)}, now)
		if err != nil {
			t.Fatal(err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "p1", Binding: billing.Binding{Method: "log"}, AccountID: &aid, PlanID: &pid,
			StartDate: billing.NewDate(2026, 12, 1)}, "test", now); err != nil {
			t.Fatal(err)
		}
		pm, err := sandbox.Tokenize(ctx, payments.CardInput{Number: card, ExpMonth: 12, ExpYear: 2030})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := charger.AddToken(ctx, a.ID, pm, true); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAutopay(ctx, a.ID, true, now); err != nil {
			t.Fatal(err)
		}
		accounts[card[12:]] = a.ID
	}
	// December invoices: issued 2026-11-26, due 2026-12-10.
	var run billing.BillingRun
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, typ.ID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test", 100, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := db.RunBillingBatch(ctx, run.ID, 0, now); err != nil || res.Invoices != 2 {
		t.Fatalf("billing: %+v %v", res, err)
	}

	r := &Runner{store: storesOf(db), clock: clk, log: quiet, charger: charger}
	w := &autopayWorker{r: r}
	attempts := func(acct string) []billing.PaymentAttempt {
		as, err := db.PaymentAttempts(ctx, accounts[acct])
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	work := func(d billing.Date) {
		t.Helper()
		clk.Set(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC))
		if err := w.Work(ctx, &river.Job[AutopayArgs]{Args: AutopayArgs{AccountTypeID: typ.ID, Date: d}}); err != nil {
			t.Fatal(err)
		}
	}
	work(billing.NewDate(2026, 12, 9)) // the day before: nothing
	if len(attempts("4242"))+len(attempts("0341")) != 0 {
		t.Fatal("autopay charged before the due date")
	}
	for _, d := range []billing.Date{billing.NewDate(2026, 12, 10), billing.NewDate(2026, 12, 10), billing.NewDate(2026, 12, 11),
		billing.NewDate(2026, 12, 12), billing.NewDate(2026, 12, 13), billing.NewDate(2026, 12, 20)} {
		work(d)
	}
	good := attempts("4242")
	if len(good) != 1 || good[0].Status != "succeeded" || good[0].PaymentID == nil {
		t.Fatalf("good card: %+v", good)
	}
	if bal, _ := db.Balance(ctx, accounts["4242"]); bal != 0 {
		t.Fatalf("good card's account still owes %d", bal)
	}
	bad := attempts("0341")
	// Due date, due+1, due+3; then the schedule is used up.
	if len(bad) != 3 || bad[0].AttemptNo != 3 || bad[2].AttemptNo != 1 {
		t.Fatalf("failing card: %d attempts %+v", len(bad), bad)
	}
	methods, _ := db.PaymentMethods(ctx, accounts["0341"])
	if len(methods) != 1 || methods[0].Status != "failing" || methods[0].Failure == "" {
		t.Fatalf("the failing card is not flagged for the subscriber: %+v", methods)
	}
}

// Turning autopay on charges nothing at once: an invoice already past due
// that day is the subscriber's to pay (the portal says so), and autopay
// charges the invoices due from that day on, each on its due date.
func TestAutopayTurnedOnDoesNotChargeWhatIsAlreadyPastDue(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", AutopayRetryDays: []int{1, 3}}, now)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber", Price: 5000, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	sandbox := payments.NewSandbox()
	sandbox.SetClock(clk)
	sandbox.SetLogger(quiet)
	charger := charge.New(sandbox, db, clk, quiet)
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Late Adopter", AccountTypeID: typ.ID, Currency: "USD", AnchorDate: billing.NewDate(2026, 12, 1)}, now)
	if err != nil {
		t.Fatal(err)
	}
	aid, pid := a.ID, plan.ID
	if _, err := db.CreateService(ctx, billing.NewService{POP: "p1", Binding: billing.Binding{Method: "log"}, AccountID: &aid, PlanID: &pid,
		StartDate: billing.NewDate(2026, 12, 1)}, "test", now); err != nil {
		t.Fatal(err)
	}
	pm, err := sandbox.Tokenize(ctx, payments.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := charger.AddToken(ctx, a.ID, pm, true); err != nil {
		t.Fatal(err)
	}
	bill := func(d billing.Date) {
		t.Helper()
		at := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
		var run billing.BillingRun
		err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
			run, _, err = postgres.CreateBillingRunTx(ctx, tx, typ.ID, d, billing.TriggerOnDemand, "test", 100, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := db.RunBillingBatch(ctx, run.ID, 0, at); err != nil || res.Invoices != 1 {
			t.Fatalf("billing on %s: %+v %v", d, res, err)
		}
	}
	bill(billing.NewDate(2026, 11, 26)) // December's invoice, due 2026-12-10

	w := &autopayWorker{r: &Runner{store: storesOf(db), clock: clk, log: quiet, charger: charger}}
	work := func(d billing.Date) {
		t.Helper()
		clk.Set(time.Date(d.Year, d.Month, d.Day, 18, 0, 0, 0, time.UTC))
		if err := w.Work(ctx, &river.Job[AutopayArgs]{Args: AutopayArgs{AccountTypeID: typ.ID, Date: d}}); err != nil {
			t.Fatal(err)
		}
	}
	// 2026-12-15, five days past due: the subscriber turns autopay on
	// (03:00 UTC is still the 14th in Chicago, the account type's zone).
	clk.Set(time.Date(2026, 12, 15, 3, 0, 0, 0, time.UTC))
	if err := db.SetAutopay(ctx, a.ID, true, clk.Now()); err != nil {
		t.Fatal(err)
	}
	var since time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT autopay_since FROM accounts WHERE id = $1`, a.ID).Scan(&since); err != nil || since.Format("2006-01-02") != "2026-12-14" {
		t.Fatalf("autopay_since %v (%v), want 2026-12-14 (the local date in Chicago)", since, err)
	}
	for _, d := range []billing.Date{billing.NewDate(2026, 12, 14), billing.NewDate(2026, 12, 15), billing.NewDate(2026, 12, 16), billing.NewDate(2026, 12, 20)} {
		work(d)
	}
	if as, _ := db.PaymentAttempts(ctx, a.ID); len(as) != 0 {
		t.Fatalf("turning autopay on charged the past-due invoice: %+v", as)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != 5000 {
		t.Fatalf("balance %d, want 5000 (the past-due invoice is the subscriber's to pay)", bal)
	}
	// January's invoice (due 2027-01-10) came due with autopay on: charged
	// on its due date, and only it.
	bill(billing.NewDate(2026, 12, 27))
	work(billing.NewDate(2027, 1, 9))
	if as, _ := db.PaymentAttempts(ctx, a.ID); len(as) != 0 {
		t.Fatalf("autopay charged before January's due date: %+v", as)
	}
	work(billing.NewDate(2027, 1, 10))
	as, _ := db.PaymentAttempts(ctx, a.ID)
	if len(as) != 1 || as[0].Status != "succeeded" || as[0].Amount != 5000 || as[0].InvoiceID == nil {
		t.Fatalf("January's invoice: %+v, want one succeeded attempt of 5000", as)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != 5000 {
		t.Fatalf("balance %d, want 5000 (December's, still the subscriber's)", bal)
	}
	// Turned off and on again, the day moves: an invoice due before is
	// not covered any more.
	clk.Set(time.Date(2027, 1, 20, 18, 0, 0, 0, time.UTC))
	if err := db.SetAutopay(ctx, a.ID, false, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAutopay(ctx, a.ID, true, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT autopay_since FROM accounts WHERE id = $1`, a.ID).Scan(&since); err != nil || since.Format("2006-01-02") != "2027-01-20" {
		t.Fatalf("autopay_since %v (%v), want 2027-01-20", since, err)
	}
}
