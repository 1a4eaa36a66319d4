package postgres_test

import (
	"context"
	"testing"
	"time"

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
