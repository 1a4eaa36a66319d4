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

// lifecycleFixture is an account on a fixed-day (1st, 5 lead days,
// Chicago) type with policy pol, plans Fiber 50 (50.00) and Fiber 100
// (80.00), untaxed, and one service on Fiber 50 from Mar 1 2027 whose
// March is invoiced (run on Feb 24).
type lifecycleFixture struct {
	typ             billing.AccountType
	fiber50, fib100 billing.Plan
	account         billing.Account
	service         billing.Service
}

func newLifecycleFixture(t *testing.T, db *postgres.DB, pol billing.LifecyclePolicy) lifecycleFixture {
	t.Helper()
	ctx := context.Background()
	var f lifecycleFixture
	var err error
	f.typ, err = db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", Lifecycle: pol}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if f.fiber50, err = db.CreatePlan(ctx, billing.Plan{Name: "Fiber 50", Price: 5000, Currency: "USD", Interval: billing.IntervalMonthly}, t0); err != nil {
		t.Fatal(err)
	}
	if f.fib100, err = db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 8000, Currency: "USD", Interval: billing.IntervalMonthly}, t0); err != nil {
		t.Fatal(err)
	}
	f.account, _, err = db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: "s@example.net", AccountTypeID: f.typ.ID, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	aid, pid := f.account.ID, f.fiber50.ID
	if f.service, err = db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"},
		AccountID: &aid, PlanID: &pid, StartDate: billing.NewDate(2027, 3, 1)}, "test", t0); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 2, 24), 10)
	return f
}

// chicagoNoon is noon of a local date in America/Chicago.
func chicagoNoon(d billing.Date) time.Time {
	loc, _ := time.LoadLocation("America/Chicago")
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, loc)
}

func lifecycleCtx(now time.Time) billing.LifecycleContext {
	return billing.LifecycleContext{Now: now, Actor: "staff:ana", Reason: "customer asked"}
}

// invoiceFor returns the account's regular invoice of the period starting
// on start, with its lines.
func invoiceFor(t *testing.T, db *postgres.DB, accountID int64, start billing.Date) billing.Invoice {
	t.Helper()
	ctx := context.Background()
	list, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: accountID})
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range list {
		if inv.Period.Start == start && inv.Kind == billing.InvoiceRegular {
			full, err := db.Invoice(ctx, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			return full
		}
	}
	t.Fatalf("account %d has no regular invoice for the period from %s (invoices: %+v)", accountID, start, list)
	return billing.Invoice{}
}

func lineAmounts(inv billing.Invoice) []int64 {
	var out []int64
	for _, l := range inv.Lines {
		out = append(out, l.Amount)
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPlanChangeWorkedExampleOnNextInvoice: Fiber 50 → Fiber 100 from Mar
// 10 on a March already invoiced credits −35.48 and charges 56.77; a
// preview writes nothing; the change writes its audit row and the new
// coverage, and the April invoice carries the two lines beside April at
// Fiber 100 — and the May invoice does not carry them again.
func TestPlanChangeWorkedExampleOnNextInvoice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})

	march := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 3, 1))
	if !equalInts(lineAmounts(march), []int64{5000}) {
		t.Fatalf("March lines %v, want [5000]", lineAmounts(march))
	}
	cov, err := db.Coverage(ctx, f.service.ID)
	if err != nil || len(cov) != 1 || cov[0].From != billing.NewDate(2027, 3, 1) || cov[0].To != billing.NewDate(2027, 4, 1) || cov[0].Price != 5000 {
		t.Fatalf("coverage after the March run: %+v %v", cov, err)
	}

	req := billing.ServiceChangeRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))), NewPlan: billing.Plan{ID: f.fib100.ID}}
	preview, err := db.ChangeService(ctx, f.service.ID, 0, req, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(preview.Lines) != 2 || preview.Lines[0].Amount != -3548 || preview.Lines[1].Amount != 5677 {
		t.Fatalf("preview lines %+v, want -3548 and 5677", preview.Lines)
	}
	if n := count(t, db, "one_time_charges") + count(t, db, "audit_log") + count(t, db, "service_terms"); n != 0 {
		t.Fatalf("a preview wrote %d rows", n)
	}

	// A stale If-Match is refused; the current version (1) is accepted.
	if _, err := db.ChangeService(ctx, f.service.ID, 7, req, false); billing.ErrorCode(err) != billing.EPRECONDITION {
		t.Fatalf("stale version: %v, want EPRECONDITION", err)
	}
	plan, err := db.ChangeService(ctx, f.service.ID, 1, req, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Invoicing != billing.InvoiceOnNext || plan.Net != 5677-3548 {
		t.Fatalf("plan: invoicing %s net %d", plan.Invoicing, plan.Net)
	}
	audit, err := db.AuditLog(ctx, "service", f.service.ID)
	if err != nil || len(audit) != 1 || audit[0].Actor != "staff:ana" || audit[0].After["action"] != "plan_change" ||
		audit[0].Before["plan_id"] != float64(f.fiber50.ID) || audit[0].After["plan_id"] != float64(f.fib100.ID) {
		t.Fatalf("audit: %+v %v", audit, err)
	}
	cov, err = db.Coverage(ctx, f.service.ID)
	if err != nil || len(cov) != 2 || cov[0].To != billing.NewDate(2027, 3, 10) || cov[1].PlanID != f.fib100.ID || cov[1].Price != 8000 {
		t.Fatalf("coverage after the change: %+v %v", cov, err)
	}
	svc, err := db.Service(ctx, f.service.ID)
	if err != nil || svc.PlanID == nil || *svc.PlanID != f.fib100.ID {
		t.Fatalf("service after the change: %+v %v", svc, err)
	}
	// The same change again is refused (same plan): 422 material.
	if _, err := db.ChangeService(ctx, f.service.ID, 0, req, false); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("same plan again: %v, want EINVALID", err)
	}

	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	if !equalInts(lineAmounts(april), []int64{8000, -3548, 5677}) || april.Total != 8000-3548+5677 {
		t.Fatalf("April lines %v total %d, want [8000 -3548 5677]", lineAmounts(april), april.Total)
	}
	if l := april.Lines[1]; l.Kind != billing.LineCredit || l.ServiceID == nil || *l.ServiceID != f.service.ID ||
		l.PeriodStart != billing.NewDate(2027, 3, 10) || l.PeriodEnd != billing.NewDate(2027, 4, 1) {
		t.Fatalf("April credit line %+v", l)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 4, 26), 10)
	may := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 5, 1))
	if !equalInts(lineAmounts(may), []int64{8000}) {
		t.Fatalf("May lines %v, want [8000]: the change's lines are invoiced once", lineAmounts(may))
	}
}

// enforcementRows lists the service's enforcement changes: state and
// removed, by revision.
func enforcementRows(t *testing.T, db *postgres.DB, serviceID int64) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT desired_state || CASE WHEN removed THEN ' removed' ELSE '' END
		FROM enforcement_changes WHERE service_id = $1 ORDER BY revision`, serviceID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func held(t *testing.T, db *postgres.DB, serviceID int64) string {
	t.Helper()
	var h string
	if err := db.Pool.QueryRow(context.Background(), `SELECT held FROM services WHERE id = $1`, serviceID).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestCancelFutureDatedCreditsAndSuspendsAtLocalMidnight: a cancel on Mar
// 20 decided on Mar 10 credits the 12 invoiced days after it to the
// account (nothing else is due), writes its audit row, and suspends the
// service (keep_suspended) only when the job runs at local midnight of Mar
// 20; a payment's settlement then leaves it suspended.
func TestCancelFutureDatedCreditsAndSuspendsAtLocalMidnight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	before := enforcementRows(t, db, f.service.ID)

	req := billing.CancelRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))), Date: billing.NewDate(2027, 3, 20)}
	plan, err := db.CancelService(ctx, f.service.ID, 0, req, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Invoicing != billing.InvoiceAsCredit || plan.AccountCredit != 1935 || len(plan.Lines) != 1 {
		t.Fatalf("cancel plan: %s credit %d lines %+v", plan.Invoicing, plan.AccountCredit, plan.Lines)
	}
	if bal, err := db.Balance(ctx, f.account.ID); err != nil || bal != 5000-1935 {
		t.Fatalf("balance %d %v, want %d", bal, err, 5000-1935)
	}
	if audit, _ := db.AuditLog(ctx, "service", f.service.ID); len(audit) != 1 || audit[0].After["action"] != "cancel" || audit[0].After["end_date"] != "2027-03-20" {
		t.Fatalf("audit %+v", audit)
	}
	if cov, _ := db.Coverage(ctx, f.service.ID); len(cov) != 1 || cov[0].To != billing.NewDate(2027, 3, 20) {
		t.Fatalf("coverage after the cancel: %+v", cov)
	}
	if got := enforcementRows(t, db, f.service.ID); len(got) != len(before) {
		t.Fatalf("a future-dated cancel changed enforcement now: %v", got)
	}
	// The day before: nothing due. At 00:30 on Mar 20 in Chicago: suspended.
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 3, 19))); err != nil || n != 0 {
		t.Fatalf("Mar 19: %d %v", n, err)
	}
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 3, 20)).Add(-11*time.Hour-30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("Mar 20: %d %v", n, err)
	}
	if got := enforcementRows(t, db, f.service.ID); len(got) != len(before)+1 || got[len(got)-1] != "suspended" || held(t, db, f.service.ID) != "cancelled" {
		t.Fatalf("after the job: %v held %q", got, held(t, db, f.service.ID))
	}
	if n, _ := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 3, 21))); n != 0 {
		t.Fatalf("the job applied the cancel again (%d)", n)
	}
	// A credit that settles the account restores nothing held.
	if _, err := db.PostCredit(ctx, f.account.ID, 5000, "goodwill", billing.NewDate(2027, 3, 21), "user:clerk", chicagoNoon(billing.NewDate(2027, 3, 21))); err != nil {
		t.Fatal(err)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.DesiredState != billing.StateSuspended || svc.EndDate != billing.NewDate(2027, 3, 20) {
		t.Fatalf("cancelled service after a credit: %s ends %s", svc.DesiredState, svc.EndDate)
	}
	// April bills nothing for it.
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	if list, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: f.account.ID}); len(list) != 1 {
		t.Fatalf("invoices after the cancel: %+v", list)
	}
}

// TestCancelRemoveTakesTheServiceOffItsPOP: on_cancel remove, effective
// today: one enforcement change with removed set, written through the
// outbox, and the POP's snapshot leaves the service out.
func TestCancelRemoveTakesTheServiceOffItsPOP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{OnCancel: billing.CancelRemove})
	req := billing.CancelRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10)))}
	if _, err := db.CancelService(ctx, f.service.ID, 0, req, false); err != nil {
		t.Fatal(err)
	}
	got := enforcementRows(t, db, f.service.ID)
	if len(got) == 0 || got[len(got)-1] != "active removed" {
		t.Fatalf("enforcement changes %v, want the last removed", got)
	}
	_, snap, err := db.Snapshot(ctx, "pop-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range snap {
		if c.ServiceID == f.service.ID {
			t.Fatalf("the snapshot still holds the removed service: %+v", c)
		}
	}
	if _, _, err := db.SetDesiredState(ctx, billing.StateChange{ServiceID: f.service.ID, State: billing.StateSuspended, Reason: "x", Actor: "staff", At: t0}); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a desired state for a removed service: %v, want EINVALID", err)
	}
	// Cancel before the start or again: refused, nothing written.
	if _, err := db.CancelService(ctx, f.service.ID, 0, req, false); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("second cancel: %v", err)
	}
}

// TestPauseSuspendsCreditsAndResumes: a pause Mar 10–15 on a type that
// suspends paused services credits the 5 invoiced paused days on the next
// invoice, suspends now (held: the sweep and settlements leave it alone)
// and resumes at local midnight of Mar 15 through the job.
func TestPauseSuspendsCreditsAndResumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{SuspendWhilePaused: true, MaxPauseDays: 30})
	now := chicagoNoon(billing.NewDate(2027, 3, 10))
	if _, err := db.PauseService(ctx, f.service.ID, 0, billing.PauseRequest{Context: lifecycleCtx(now),
		From: billing.NewDate(2027, 3, 10), To: billing.NewDate(2027, 4, 20)}, false); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a 41-day pause: %v, want EINVALID", err)
	}
	plan, err := db.PauseService(ctx, f.service.ID, 1, billing.PauseRequest{Context: lifecycleCtx(now),
		From: billing.NewDate(2027, 3, 10), To: billing.NewDate(2027, 3, 15)}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Lines) != 1 || plan.Lines[0].Amount != -806 {
		t.Fatalf("pause lines %+v, want one credit of -806", plan.Lines)
	}
	if got := enforcementRows(t, db, f.service.ID); got[len(got)-1] != "suspended" || held(t, db, f.service.ID) != "paused" {
		t.Fatalf("after the pause: %v held %q", got, held(t, db, f.service.ID))
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.StateReason != "paused until 2027-03-15" || svc.PauseTo != billing.NewDate(2027, 3, 15) || svc.Version != 2 {
		t.Fatalf("paused service: %+v", svc)
	}
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 3, 15))); err != nil || n != 1 {
		t.Fatalf("resume: %d %v", n, err)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.DesiredState != billing.StateActive || held(t, db, f.service.ID) != "" {
		t.Fatalf("resumed service: %s held %q", svc.DesiredState, held(t, db, f.service.ID))
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	if !equalInts(lineAmounts(april), []int64{5000, -806}) {
		t.Fatalf("April lines %v, want [5000 -806]", lineAmounts(april))
	}
}

// TestImmediateInvoiceBesideTheRegularOne: a type that invoices changes at
// once issues an adjustment invoice for March beside March's regular one;
// April's invoice does not carry the lines again.
func TestImmediateInvoiceBesideTheRegularOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{ChangeInvoicing: billing.InvoiceImmediately})
	req := billing.ServiceChangeRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))), NewPlan: billing.Plan{ID: f.fib100.ID}}
	plan, err := db.ChangeService(ctx, f.service.ID, 0, req, false)
	if err != nil || plan.Invoicing != billing.InvoiceImmediately {
		t.Fatalf("plan %s %v", plan.Invoicing, err)
	}
	list, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: f.account.ID})
	if err != nil || len(list) != 2 || list[1].Kind != billing.InvoiceAdjustment || list[1].Period != list[0].Period ||
		list[1].Total != 5677-3548 || list[1].IssueDate != billing.NewDate(2027, 3, 10) || list[1].DueDate != billing.NewDate(2027, 3, 24) {
		t.Fatalf("invoices %+v %v", list, err)
	}
	if n := count(t, db, "one_time_charges"); n != 0 {
		t.Fatalf("%d lines also wait for the next invoice", n)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	if april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1)); !equalInts(lineAmounts(april), []int64{8000}) {
		t.Fatalf("April lines %v, want [8000]", lineAmounts(april))
	}
}

// TestPriceVersionBilledFromItsPeriod: a price version from Apr 1 decided
// in March leaves March's invoice as issued and bills April at the new
// price; one in the past is refused; grandfathering keeps older services
// on theirs.
func TestPriceVersionBilledFromItsPeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	now := chicagoNoon(billing.NewDate(2027, 3, 10))
	req := billing.PriceChangeRequest{NewPrice: 5500, Effective: billing.NewDate(2027, 3, 1), Actor: "staff:root", Now: now}
	if _, err := db.ChangePlanPrice(ctx, f.fiber50.ID, req, false); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a price change in the past: %v", err)
	}
	req.Effective = billing.NewDate(2027, 4, 1)
	plan, err := db.ChangePlanPrice(ctx, f.fiber50.ID, req, true)
	if err != nil || plan.Preview == nil || plan.Preview.Services != 1 || plan.Preview.RevenueChange != 500 || count(t, db, "plan_price_versions") != 0 {
		t.Fatalf("preview %+v %v", plan.Preview, err)
	}
	if _, err := db.ChangePlanPrice(ctx, f.fiber50.ID, req, false); err != nil {
		t.Fatal(err)
	}
	if audit, _ := db.AuditLog(ctx, "plan", f.fiber50.ID); len(audit) != 1 || audit[0].After["price"] != float64(5500) {
		t.Fatalf("audit %+v", audit)
	}
	// A grandfathered version from May keeps this (older) service at 55.00.
	req.NewPrice, req.Effective, req.Grandfather = 6000, billing.NewDate(2027, 5, 1), true
	if _, err := db.ChangePlanPrice(ctx, f.fiber50.ID, req, false); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 4, 26), 10)
	if march := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 3, 1)); !equalInts(lineAmounts(march), []int64{5000}) {
		t.Fatalf("March changed: %v", lineAmounts(march))
	}
	if april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1)); !equalInts(lineAmounts(april), []int64{5500}) {
		t.Fatalf("April lines %v, want [5500]", lineAmounts(april))
	}
	if may := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 5, 1)); !equalInts(lineAmounts(may), []int64{5500}) {
		t.Fatalf("May lines %v, want [5500] (grandfathered)", lineAmounts(may))
	}
}

// TestStopInvoicingWhileSuspendedCreditsOnTheNextInvoice: on a type that
// stops invoicing while suspended, an account suspended from Mar 5 10:00
// to Mar 12 15:00 (Chicago) was suspended at local midnight on Mar 6-12:
// the April run (at 06:00 on Mar 27) credits those 7 invoiced days of
// March on the April invoice with a line saying why, once.
func TestStopInvoicingWhileSuspendedCreditsOnTheNextInvoice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{StopInvoicingWhileSuspended: true})
	loc, _ := time.LoadLocation("America/Chicago")
	for _, c := range []struct {
		from, to string
		at       time.Time
	}{
		{"current", "suspended", time.Date(2027, 3, 5, 10, 0, 0, 0, loc)},
		{"suspended", "current", time.Date(2027, 3, 12, 15, 0, 0, 0, loc)},
	} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO account_status_changes (account_id, from_status, to_status, cause, at)
			VALUES ($1, $2, $3, 'staff', $4)`, f.account.ID, c.from, c.to, c.at); err != nil {
			t.Fatal(err)
		}
	}
	runAt := func(date billing.Date, now time.Time) {
		t.Helper()
		var run billing.BillingRun
		err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var err error
			run, _, err = postgres.CreateBillingRunTx(ctx, tx, f.typ.ID, date, billing.TriggerOnDemand, "test", 10, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for b := range run.TotalBatches {
			if _, err := db.RunBillingBatch(ctx, run.ID, b, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	runAt(billing.NewDate(2027, 3, 27), time.Date(2027, 3, 27, 6, 0, 0, 0, loc))
	april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	if !equalInts(lineAmounts(april), []int64{5000, -1129}) {
		t.Fatalf("April lines %v, want [5000 -1129]", lineAmounts(april))
	}
	if l := april.Lines[1]; l.PeriodStart != billing.NewDate(2027, 3, 6) || l.PeriodEnd != billing.NewDate(2027, 3, 13) ||
		!strings.Contains(l.Description, "stops invoicing while suspended") {
		t.Fatalf("credit line %+v", l)
	}
	if audit, _ := db.AuditLog(ctx, "service", f.service.ID); len(audit) != 1 || audit[0].After["action"] != "suspended_days_credit" {
		t.Fatalf("audit %+v", audit)
	}
	runAt(billing.NewDate(2027, 4, 26), time.Date(2027, 4, 26, 6, 0, 0, 0, loc))
	if may := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 5, 1)); !equalInts(lineAmounts(may), []int64{5000}) {
		t.Fatalf("May lines %v, want [5000]: the days are credited once", lineAmounts(may))
	}
}

// TestPauseInAFuturePeriodBilledAroundWithTheHoldFee: a pause Apr 5–10
// decided in March (April not invoiced yet) has no lines of its own; the
// April run bills the plan around the pause and the hold fee during it,
// and stores the hold's span as coverage.
func TestPauseInAFuturePeriodBilledAroundWithTheHoldFee(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{PauseHoldFee: 1000})
	plan, err := db.PauseService(ctx, f.service.ID, 0, billing.PauseRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))),
		From: billing.NewDate(2027, 4, 5), To: billing.NewDate(2027, 4, 10)}, false)
	if err != nil || len(plan.Lines) != 0 {
		t.Fatalf("pause: %+v %v", plan.Lines, err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	p := billing.Period{Start: billing.NewDate(2027, 4, 1), End: billing.NewDate(2027, 5, 1)}
	want := []int64{billing.Prorate(5000, p, p.Start, billing.NewDate(2027, 4, 5)), billing.Prorate(5000, p, billing.NewDate(2027, 4, 10), p.End),
		billing.Prorate(1000, p, billing.NewDate(2027, 4, 5), billing.NewDate(2027, 4, 10))}
	if !equalInts(lineAmounts(april), want) || !strings.Contains(april.Lines[2].Description, "Vacation hold") {
		t.Fatalf("April lines %v (%+v), want %v with the hold last", lineAmounts(april), april.Lines, want)
	}
	cov, err := db.Coverage(ctx, f.service.ID)
	if err != nil || len(cov) != 4 || !cov[2].Hold || cov[2].From != billing.NewDate(2027, 4, 5) {
		t.Fatalf("coverage %+v %v", cov, err)
	}
}

// TestCatchUpBillingLeavesOutEveryPause: a service paused Apr 5..9
// (decided in March) and, once that pause is over, again Apr 20..24, with
// April not invoiced until a catch-up run on Apr 12: the April invoice
// bills the plan around both pauses — the first kept in the service's
// pause history — and nothing during either.
func TestCatchUpBillingLeavesOutEveryPause(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	if _, err := db.PauseService(ctx, f.service.ID, 0, billing.PauseRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 10))),
		From: billing.NewDate(2027, 4, 5), To: billing.NewDate(2027, 4, 10)}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PauseService(ctx, f.service.ID, 0, billing.PauseRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 4, 12))),
		From: billing.NewDate(2027, 4, 20), To: billing.NewDate(2027, 4, 25)}, false); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 4, 12), 10)
	april := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	p := billing.Period{Start: billing.NewDate(2027, 4, 1), End: billing.NewDate(2027, 5, 1)}
	want := billing.Prorate(5000, p, p.Start, billing.NewDate(2027, 4, 5)) + billing.Prorate(5000, p, billing.NewDate(2027, 4, 10), billing.NewDate(2027, 4, 20)) +
		billing.Prorate(5000, p, billing.NewDate(2027, 4, 25), p.End)
	if april.Total != want {
		t.Fatalf("April invoice %d (%v), want %d: the days of both pauses left out", april.Total, lineAmounts(april), want)
	}
}

// TestPauseThatKeepsServiceOnHoldsItFromTheSweep: on a type that keeps
// paused services on, a pause still holds the service: a sweep past the
// account's delinquency date leaves the paused service on and, as it is
// the account's only service, neither suspends the account nor tells the
// subscriber it is suspended (the account stays delinquent, its why says
// the suspension waits for the pause's end). The resume at the pause's end
// turns the service back on as the account is not suspended, and the next
// sweep suspends it, with its notice.
func TestPauseThatKeepsServiceOnHoldsItFromTheSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{MaxPauseDays: 60})
	typ := f.typ
	typ.AutoSuspend = true
	typ.DelinquencyWeekdays = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PauseService(ctx, f.service.ID, 0, billing.PauseRequest{Context: lifecycleCtx(chicagoNoon(billing.NewDate(2027, 3, 12))),
		From: billing.NewDate(2027, 3, 12), To: billing.NewDate(2027, 4, 1)}, false); err != nil {
		t.Fatal(err)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.DesiredState != billing.StateActive || held(t, db, f.service.ID) != "paused" {
		t.Fatalf("after the pause: %s held %q, want active held paused", svc.DesiredState, held(t, db, f.service.ID))
	}
	// Before the sweep, its preview and the account's standing say what
	// it will do: no suspension, the account delinquent, waiting for the
	// pause's end.
	sweepDay := chicagoNoon(billing.NewDate(2027, 3, 20))
	preview, err := db.Sweep(ctx, billing.SweepRequest{AccountTypeID: f.typ.ID, Trigger: billing.SweepManual, Actor: "test", DryRun: true}, sweepDay)
	if err != nil || preview.Suspended != 0 || preview.SuspendedServices != 0 || preview.StatusChanges != 1 {
		t.Fatalf("preview %+v %v; want no suspension, one status change (to delinquent)", preview, err)
	}
	st, err := db.AccountStanding(ctx, f.account.ID, sweepDay)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[billing.ReasonKind]billing.Reason{}
	for _, r := range st.Reasons {
		kinds[r.Kind] = r
	}
	if _, due := kinds[billing.ReasonSuspensionDue]; due || kinds[billing.ReasonServicesPaused].Date != billing.NewDate(2027, 4, 1) ||
		kinds[billing.ReasonStatusDue].Status != billing.AccountDelinquent {
		t.Fatalf("standing before the sweep %v (%+v); want no suspension due, delinquent next, waiting for the pause to end Apr 1", st.Why, st.Reasons)
	}
	res, err := db.Sweep(ctx, billing.SweepRequest{AccountTypeID: f.typ.ID, Trigger: billing.SweepManual, Actor: "test"}, sweepDay)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := db.Account(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Suspended != 0 || res.SuspendedServices != 0 || acct.Status != billing.AccountDelinquent {
		t.Fatalf("sweep: %d suspended (%d services), account %s; want the account delinquent and its paused service left alone",
			res.Suspended, res.SuspendedServices, acct.Status)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.DesiredState != billing.StateActive {
		t.Fatalf("the sweep suspended a paused service: %s", svc.DesiredState)
	}
	suspendedNotices := func() int {
		t.Helper()
		ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: f.account.ID, Kind: billing.NoticeSuspended})
		if err != nil {
			t.Fatal(err)
		}
		return len(ns)
	}
	if n := suspendedNotices(); n != 0 {
		t.Fatalf("%d suspended notices while the service stays on", n)
	}
	if h, err := db.StatusHistory(ctx, f.account.ID); err != nil || len(h) == 0 || h[0].To != billing.AccountDelinquent ||
		!strings.Contains(strings.Join(h[0].Why, " "), "paused and kept on until") {
		t.Fatalf("status history %+v %v; want delinquent, the suspension waiting for the pause", h, err)
	}
	if n, err := db.ApplyDueEnforcement(ctx, chicagoNoon(billing.NewDate(2027, 4, 1))); err != nil || n != 1 {
		t.Fatalf("resume: %d %v", n, err)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.DesiredState != billing.StateActive || held(t, db, f.service.ID) != "" {
		t.Fatalf("resumed into a delinquent account: %s held %q, want active, no hold", svc.DesiredState, held(t, db, f.service.ID))
	}
	if res, err = db.Sweep(ctx, billing.SweepRequest{AccountTypeID: f.typ.ID, Trigger: billing.SweepManual, Actor: "test"}, chicagoNoon(billing.NewDate(2027, 4, 2))); err != nil ||
		res.Suspended != 1 || res.SuspendedServices != 1 {
		t.Fatalf("the sweep after the pause: %+v %v", res, err)
	}
	if svc, _ := db.Service(ctx, f.service.ID); svc.DesiredState != billing.StateSuspended || suspendedNotices() != 1 {
		t.Fatalf("after the pause: %s, %d suspended notices; want suspended, told once", svc.DesiredState, suspendedNotices())
	}
}
