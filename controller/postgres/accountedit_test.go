package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

func ptrTo[T any](v T) *T { return &v }

func auditRows(t *testing.T, db *postgres.DB, id int64) []billing.AuditEntry {
	t.Helper()
	es, err := db.AuditLog(context.Background(), billing.EntityAccount, id)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestAccountEditWritesTheAuditLog(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	_, _, accts := fixture(t, db, 2, billing.NewDate(2026, 12, 1))
	a := accts[0]
	if a.Version != 1 {
		t.Fatalf("a new account's version is %d, want 1", a.Version)
	}
	at := t0.Add(time.Hour)
	plan, err := db.EditAccount(ctx, a.ID, 1, billing.AccountEdit{Email: ptrTo("jane@example.org"), CompanyName: ptrTo("Roe LLC"),
		Address: &billing.Address{Line1: "2 Elm St", City: "Austin"}, Reason: "moved"}, "clerk", at)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Account(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Email != "jane@example.org" || got.CompanyName != "Roe LLC" || got.Address.City != "Austin" || plan.Account != got {
		t.Errorf("stored %+v, plan's %+v", got, plan.Account)
	}
	es := auditRows(t, db, a.ID)
	if len(es) != 1 {
		t.Fatalf("%d audit rows, want 1", len(es))
	}
	e := es[0]
	if e.Actor != "clerk" || !e.At.Equal(at) || e.Reason != "moved" || e.Before["email"] != "s@example.net" || e.After["email"] != "jane@example.org" ||
		e.After["company_name"] != "Roe LLC" || e.After["address"].(map[string]any)["city"] != "Austin" || len(e.After) != 3 {
		t.Errorf("audit row %+v", e)
	}

	// An edit that changes nothing writes nothing.
	if _, err := db.EditAccount(ctx, a.ID, 2, billing.AccountEdit{Email: ptrTo("jane@example.org")}, "clerk", at); err != nil {
		t.Fatal(err)
	}
	// Another account's external id: refused, naming the field, nothing written.
	_, err = db.EditAccount(ctx, a.ID, 2, billing.AccountEdit{ExternalID: ptrTo(accts[1].ExternalID), Phone: ptrTo("1")}, "clerk", at)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "external_id") {
		t.Errorf("duplicate external_id: %v", err)
	}
	// Unknown account.
	if _, err := db.EditAccount(ctx, 999999, 1, billing.AccountEdit{Phone: ptrTo("1")}, "clerk", at); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown account: %v", err)
	}
	if got, _ := db.Account(ctx, a.ID); got.Version != 2 || got.Phone != "" || len(auditRows(t, db, a.ID)) != 1 {
		t.Errorf("refused or empty edits wrote something: %+v, %d audit rows", got, len(auditRows(t, db, a.ID)))
	}
}

func TestAccountEditConcurrentEditsOneWins(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	_, _, accts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	id := accts[0].ID
	for round := range 5 {
		version := int64(round + 1)
		const editors = 4
		var wg sync.WaitGroup
		errs := make([]error, editors)
		start := make(chan struct{})
		for i := range editors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = db.EditAccount(ctx, id, version, billing.AccountEdit{Phone: ptrTo(fmt.Sprintf("555-%d-%d", round, i))}, fmt.Sprintf("editor-%d", i), t0)
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch billing.ErrorCode(err) {
			case "":
				wins++
			case billing.EPRECONDITION:
				if want := fmt.Sprintf("version %d, not %d", version+1, version); !strings.Contains(billing.ErrorMessage(err), want) {
					t.Errorf("round %d: stale message %q does not say %q", round, billing.ErrorMessage(err), want)
				}
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d edits from version %d won, want exactly 1 (%v)", round, wins, version, errs)
		}
	}
	a, err := db.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	es := auditRows(t, db, id)
	if a.Version != 6 || len(es) != 5 || es[4].After["phone"] != a.Phone {
		t.Errorf("version %d with %d audit rows (last %+v), account phone %q; want version 6, 5 rows, the last the stored phone", a.Version, len(es), es[len(es)-1], a.Phone)
	}
}

func TestAccountEditTypeAndBillingDay(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	typ, _, accts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	other := typ
	other.ID, other.Name, other.DueDays = 0, "business", 30
	other, err := db.CreateAccountType(ctx, other, t0)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.EditAccount(ctx, accts[0].ID, 1, billing.AccountEdit{AccountTypeID: ptrTo(other.ID), BillingDay: ptrTo(15)}, "clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := db.Account(ctx, accts[0].ID)
	if a.AccountTypeID != other.ID || a.BillingDay != 15 || len(plan.Consequences) != 2 {
		t.Errorf("account %+v consequences %+v", a, plan.Consequences)
	}
	_, err = db.EditAccount(ctx, accts[0].ID, 2, billing.AccountEdit{AccountTypeID: ptrTo(int64(424242))}, "clerk", t0)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "account_type_id 424242") {
		t.Errorf("unknown type: %v", err)
	}
}

// TestBillingDayChangeIsInvoicedByTheBillingRun: the lifecycle fixture's
// account (day 1, March invoiced, Fiber 50) moves to day 15 on Mar 10.
// The edit previews, and the billing run of Mar 27 invoices, the
// transitional period Apr 1..14 —
// 14 of the 31 days of Mar 15..Apr 14, 22.58, its line saying so — and the
// run of Apr 10 the full period Apr 15..May 14; the service's coverage
// runs on from March without a gap or an overlap.
func TestBillingDayChangeIsInvoicedByTheBillingRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	day := 15
	plan, err := db.EditAccount(ctx, f.account.ID, f.account.Version, billing.AccountEdit{BillingDay: &day}, "staff:ana", chicagoNoon(billing.NewDate(2027, 3, 10)))
	if err != nil || len(plan.Consequences) != 1 || plan.Consequences[0].Kind != billing.ConsequenceBillingDayNextPeriod ||
		plan.BillingDayChange == nil || plan.BillingDayChange.Net != 2258 {
		t.Fatalf("edit: %+v %v; want the preview of 22.58", plan, err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	transitional := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 1))
	if transitional.Period.End != billing.NewDate(2027, 4, 15) || transitional.Total != 2258 || len(transitional.Lines) != 1 ||
		!strings.HasPrefix(transitional.Lines[0].Description, "Billing day moved to day 15, transitional period Apr 1 to Apr 14: ") {
		t.Fatalf("transitional invoice %+v", transitional)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 4, 10), 10)
	next := invoiceFor(t, db, f.account.ID, billing.NewDate(2027, 4, 15))
	if next.Period.End != billing.NewDate(2027, 5, 15) || next.Total != 5000 {
		t.Fatalf("the invoice after the transition %+v", next)
	}
	// The edit previewed it too: the first regular invoice on the new day.
	if fr := plan.BillingDayChange.FirstRegular; fr == nil || fr.Period != next.Period || fr.Subtotal != next.Subtotal ||
		len(fr.Lines) != len(next.Lines) || fr.Lines[0].Description != next.Lines[0].Description {
		t.Fatalf("first regular invoice previewed %+v; issued %v %d %+v", fr, next.Period, next.Subtotal, next.Lines)
	}
	cov, err := db.Coverage(ctx, f.service.ID)
	if err != nil {
		t.Fatal(err)
	}
	cursor := billing.NewDate(2027, 3, 1)
	for _, s := range cov {
		if s.From != cursor {
			t.Fatalf("coverage %+v has a gap or an overlap at %s", cov, cursor)
		}
		cursor = s.To
	}
	if cursor != billing.NewDate(2027, 5, 15) {
		t.Fatalf("coverage %+v ends %s, want 2027-05-15", cov, cursor)
	}
}

// TestBillingDayChangeOnAQuarterlyPlan: a quarterly plan (150.00, quarters
// from Jan 1) started Mar 1 is invoiced Mar 1..31 with March; the account
// moves to day 15 on Mar 10. The edit previews, and the Mar 27 run
// invoices, Apr 1..14 prorated over the quarter on the new day it belongs
// to (Jan 15..Apr 14, 90 days); the Apr 10 run charges the quarter Apr
// 15..Jul 14 whole. The coverage runs from Mar 1 to Jul 15 without a gap
// or an overlap.
func TestBillingDayChangeOnAQuarterlyPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	f := newLifecycleFixture(t, db, billing.LifecyclePolicy{})
	quarterly, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber Q", Price: 15000, Currency: "USD", Interval: billing.IntervalQuarterly}, t0)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Quarterly", Email: "q@example.net", AccountTypeID: f.typ.ID, Currency: "USD"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	aid, pid := a.ID, quarterly.ID
	svc, err := db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"},
		AccountID: &aid, PlanID: &pid, StartDate: billing.NewDate(2027, 3, 1)}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 2, 25), 10)
	if march := invoiceFor(t, db, a.ID, billing.NewDate(2027, 3, 1)); march.Total != billing.Prorate(15000,
		billing.Period{Start: billing.NewDate(2027, 1, 1), End: billing.NewDate(2027, 4, 1)}, billing.NewDate(2027, 3, 1), billing.NewDate(2027, 4, 1)) {
		t.Fatalf("March %+v", march)
	}
	a, _ = db.Account(ctx, a.ID)
	day := 15
	gap := billing.Prorate(15000, billing.Period{Start: billing.NewDate(2027, 1, 15), End: billing.NewDate(2027, 4, 15)},
		billing.NewDate(2027, 4, 1), billing.NewDate(2027, 4, 15))
	plan, err := db.EditAccount(ctx, a.ID, a.Version, billing.AccountEdit{BillingDay: &day}, "staff:ana", chicagoNoon(billing.NewDate(2027, 3, 10)))
	if err != nil || plan.BillingDayChange == nil || plan.BillingDayChange.Net != gap || gap <= 0 {
		t.Fatalf("edit: %+v %v; want the preview of %d", plan.BillingDayChange, err, gap)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 3, 27), 10)
	if transitional := invoiceFor(t, db, a.ID, billing.NewDate(2027, 4, 1)); transitional.Total != gap {
		t.Fatalf("transitional invoice %+v; want %d", transitional, gap)
	}
	runBilling(t, db, f.typ.ID, billing.NewDate(2027, 4, 10), 10)
	next := invoiceFor(t, db, a.ID, billing.NewDate(2027, 4, 15))
	if next.Total != 15000 {
		t.Fatalf("the invoice after the transition %+v", next)
	}
	// The edit previewed it: the quarter on the new day charged whole.
	if fr := plan.BillingDayChange.FirstRegular; fr == nil || fr.Period != next.Period || fr.Subtotal != 15000 ||
		len(fr.Lines) != 1 || fr.Lines[0].PeriodEnd != billing.NewDate(2027, 7, 15) {
		t.Fatalf("first regular invoice previewed %+v; issued %v %+v", fr, next.Period, next.Lines)
	}
	cov, err := db.Coverage(ctx, svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	cursor := billing.NewDate(2027, 3, 1)
	for _, s := range cov {
		if s.From != cursor {
			t.Fatalf("coverage %+v has a gap or an overlap at %s", cov, cursor)
		}
		cursor = s.To
	}
	if cursor != billing.NewDate(2027, 7, 15) {
		t.Fatalf("coverage %+v ends %s, want 2027-07-15", cov, cursor)
	}
}
