package billing

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// The lifecycle fixture: a fixed-day (1st) residential type, an account
// billed in USD, and three fiber plans.
var (
	lcFiber50  = Plan{ID: 1, Name: "Fiber 50", Price: 5000, Currency: "USD", Interval: IntervalMonthly, Taxable: true}
	lcFiber100 = Plan{ID: 2, Name: "Fiber 100", Price: 8000, Currency: "USD", Interval: IntervalMonthly, Taxable: true}
	lcFiber200 = Plan{ID: 3, Name: "Fiber 200", Price: 12000, Currency: "USD", Interval: IntervalMonthly, Taxable: true}
	lcAnnual   = Plan{ID: 4, Name: "Fiber 50 annual", Price: 50000, Currency: "USD", Interval: IntervalAnnual}
	lcMarch27  = per("2027-03-01", "2027-04-01")
	lcApril27  = per("2027-04-01", "2027-05-01")
)

func lcType(zone string) AccountType {
	return AccountType{ID: 1, Name: "RES", BillingMode: BillingFixedDay, BillingDay: 1, TimeZone: zone}
}

func lcAccount() Account {
	return Account{ID: 42, Number: "A-000042", Currency: "USD", AccountTypeID: 1, AnchorDate: mustDate("2027-01-01")}
}

// lcAt is the instant of local time hh:mm on day in zone.
func lcAt(zone, day string, hh, mm int) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	d := mustDate(day)
	return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, loc)
}

// lcContext decides in Chicago at 10:00 local on day.
func lcContext(day string, pol LifecyclePolicy) LifecycleContext {
	return LifecycleContext{Account: lcAccount(), Type: lcType("America/Chicago"), Policy: pol,
		Now: lcAt("America/Chicago", day, 10, 0), Actor: "user:alice", Reason: "customer called"}
}

// invoiced is a whole period of a plan × quantity, as an invoice charged it.
func invoiced(p Plan, qty int64, period Period) BilledSpan {
	return BilledSpan{Period: period, From: period.Start, To: period.End, PlanID: p.ID, PlanName: p.Name,
		UnitPrice: p.Price, Quantity: qty, Price: p.Price * qty, Taxable: p.Taxable}
}

// lcService is service 10 on plan since Jan 2027, with March 2027 invoiced.
func lcService(p Plan, qty int64, coverage ...BilledSpan) LifecycleService {
	if coverage == nil {
		coverage = []BilledSpan{invoiced(p, qty, lcMarch27)}
	}
	return LifecycleService{Ref: ServiceRef{ID: 10, POP: "north-1", AccountID: 42}, Name: "Home", Plan: p, Quantity: qty,
		Start: mustDate("2027-01-01"), Coverage: coverage}
}

// amounts are the plan's line amounts.
func amounts(p LifecyclePlan) []int64 {
	var out []int64
	for _, l := range p.Lines {
		out = append(out, l.Amount)
	}
	return out
}

func coverageTotal(spans []BilledSpan) int64 {
	var s int64
	for _, x := range spans {
		s += x.Amount()
	}
	return s
}

// checkProration asserts the proration properties of a plan applied to a
// coverage: the coverage after is valid (ordered, disjoint, inside its
// periods); for every basis (period and price) what was charged before
// plus the plan's lines equals exactly what the coverage after charges
// (every partition sums exactly, no day is charged twice); and every line
// is within ½ minor unit of its exact share when it touches its period's
// start or end, within 1 otherwise.
func checkProration(before []BilledSpan, plan LifecyclePlan) error {
	if plan.Invoicing != InvoiceByBillingRun {
		if err := validateCoverage(plan.Coverage); err != nil && plan.Coverage != nil {
			return fmt.Errorf("coverage after: %v", err)
		}
		type basis struct {
			p     Period
			price int64
		}
		sum := map[basis]int64{}
		for _, s := range before {
			sum[basis{s.Period, s.Price}] += s.Amount()
		}
		for _, l := range plan.Lines {
			full := l.FullAmount
			if full < 0 {
				full = -full
			}
			sum[basis{l.Period, full}] += l.Amount
		}
		for _, s := range plan.Coverage {
			sum[basis{s.Period, s.Price}] -= s.Amount()
		}
		if plan.Kind != LifecyclePriceChange && plan.Kind != LifecycleBillingDay {
			for b, v := range sum {
				if v != 0 {
					return fmt.Errorf("basis %v at %d: charged before + lines − charged after = %d, want 0", b.p, b.price, v)
				}
			}
		}
	}
	half, one := big.NewRat(1, 2), big.NewRat(1, 1)
	for _, l := range plan.Lines {
		days, total := l.Days(), l.Period.Days()
		if days <= 0 || total <= 0 || l.PeriodStart.Before(l.Period.Start) || l.PeriodEnd.After(l.Period.End) {
			return fmt.Errorf("line %q: days %s..%s outside its period %v", l.Description, l.PeriodStart, l.PeriodEnd, l.Period)
		}
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(l.FullAmount), big.NewInt(int64(days))), big.NewInt(int64(total)))
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(l.Amount), exact)
		diff.Abs(diff)
		limit := one
		if l.PeriodStart == l.Period.Start || l.PeriodEnd == l.Period.End {
			limit = half
		}
		if diff.Cmp(limit) > 0 {
			return fmt.Errorf("line %q = %d, exact %s: off by more than %s", l.Description, l.Amount, exact.FloatString(3), limit.RatString())
		}
	}
	return nil
}

func TestPlanServiceChange(t *testing.T) {
	next := LifecyclePolicy{}
	upgradesNow := LifecyclePolicy{PlanChangeTiming: PlanChangeUpgradesNow}
	immediate := func(min int64) LifecyclePolicy {
		return LifecyclePolicy{ChangeInvoicing: InvoiceImmediately, ImmediateInvoiceMinimum: min}
	}
	tests := []struct {
		name          string
		ctx           LifecycleContext
		svc           LifecycleService
		to            Plan
		qty           int64
		date          string
		atNext        bool
		wantEffective string
		wantLines     []int64
		wantDesc      []string
		wantInvoicing ChangeInvoicing
		wantKind      LifecycleKind
	}{
		{
			// The worked example: 22/31 × 50.00 = 35.48 credited,
			// 22/31 × 80.00 = 56.774 → 56.77 charged.
			name: "upgrade Fiber 50 → Fiber 100 from Mar 10", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber50, 1),
			to: lcFiber100, date: "2027-03-10", wantEffective: "2027-03-10",
			wantLines: []int64{-3548, 5677},
			wantDesc: []string{"Fiber 50 → Fiber 100 from Mar 10: credit 22 of 31 days, Mar 10 to Mar 31, of Fiber 50 (50.00/monthly)",
				"Fiber 50 → Fiber 100 from Mar 10: charge 22 of 31 days, Mar 10 to Mar 31, at Fiber 100 (80.00/monthly)"},
			wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "no date means today, in the type's zone", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber50, 1),
			to: lcFiber100, wantEffective: "2027-03-10", wantLines: []int64{-3548, 5677}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "downgrade as requested", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber100, 1),
			to: lcFiber50, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-5677, 3548}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "upgrades now: an upgrade keeps its date", ctx: lcContext("2027-03-10", upgradesNow), svc: lcService(lcFiber50, 1),
			to: lcFiber100, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-3548, 5677}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "upgrades now: a downgrade waits for the next period, not invoiced yet", ctx: lcContext("2027-03-10", upgradesNow), svc: lcService(lcFiber100, 1),
			to: lcFiber50, date: "2027-03-10", wantEffective: "2027-04-01", wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "upgrades now: a downgrade at the next period, already invoiced, swaps the whole month", ctx: lcContext("2027-03-28", upgradesNow),
			svc: lcService(lcFiber100, 1, invoiced(lcFiber100, 1, lcMarch27), invoiced(lcFiber100, 1, lcApril27)),
			to:  lcFiber50, date: "2027-03-28", wantEffective: "2027-04-01", wantLines: []int64{-8000, 5000}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "at the next period", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber50, 1),
			to: lcFiber100, atNext: true, wantEffective: "2027-04-01", wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "a future date", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber50, 1),
			to: lcFiber100, date: "2027-03-25", wantEffective: "2027-03-25",
			// 7/31 × 50.00 = 11.29 (F(31) − F(24) = 5000 − 3871), 7/31 × 80.00 = 18.06 (8000 − 6194)
			wantLines: []int64{-1129, 1806}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			// 22/31 × (3 × 50.00) = 106.4516… → 106.45.
			name: "quantity 1 → 3", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber50, 1),
			qty: 3, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-3548, 10645},
			wantDesc:      []string{"Fiber 50 → Fiber 50 × 3 from Mar 10: credit 22 of 31 days", "Fiber 50 → Fiber 50 × 3 from Mar 10: charge 22 of 31 days, Mar 10 to Mar 31, at Fiber 50 × 3 (150.00/monthly)"},
			wantInvoicing: InvoiceOnNext, wantKind: LifecycleQuantityChange,
		},
		{
			name: "quantity 3 → 2 with a plan change", ctx: lcContext("2027-03-10", next), svc: lcService(lcFiber50, 3),
			to: lcFiber100, qty: 2, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-10645, 11355},
			wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "immediate invoice at or above the minimum", ctx: lcContext("2027-03-10", immediate(2129)), svc: lcService(lcFiber50, 1),
			to: lcFiber100, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-3548, 5677}, wantInvoicing: InvoiceImmediately, wantKind: LifecyclePlanChange,
		},
		{
			name: "immediate invoice below the minimum goes on the next", ctx: lcContext("2027-03-10", immediate(2130)), svc: lcService(lcFiber50, 1),
			to: lcFiber100, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-3548, 5677}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			name: "immediate invoicing never invoices a credit", ctx: lcContext("2027-03-10", immediate(0)), svc: lcService(lcFiber100, 1),
			to: lcFiber50, date: "2027-03-10", wantEffective: "2027-03-10", wantLines: []int64{-5677, 3548}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			// 2027-03-14 is the spring-forward Sunday in Chicago (a 23-hour
			// day); 01:30 CST is already Mar 14 locally. 18/31 of each.
			name: "Chicago DST day, at 01:30 local", svc: lcService(lcFiber50, 1), to: lcFiber100,
			ctx:           LifecycleContext{Account: lcAccount(), Type: lcType("America/Chicago"), Now: time.Date(2027, 3, 14, 7, 30, 0, 0, time.UTC)},
			wantEffective: "2027-03-14", wantLines: []int64{-2903, 4645}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
		{
			// 2027-03-28 is the spring-forward Sunday in Berlin; at 23:30 UTC
			// on the 27th it is already 00:30 on the 28th there. 4/31 of each.
			name: "Berlin DST day, just after local midnight", svc: lcService(lcFiber50, 1), to: lcFiber100,
			ctx:           LifecycleContext{Account: lcAccount(), Type: lcType("Europe/Berlin"), Now: time.Date(2027, 3, 27, 23, 30, 0, 0, time.UTC)},
			wantEffective: "2027-03-28", wantLines: []int64{-645, 1032}, wantInvoicing: InvoiceOnNext, wantKind: LifecyclePlanChange,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ServiceChangeRequest{Context: tc.ctx, Service: tc.svc, NewPlan: tc.to, NewQuantity: tc.qty, AtNextPeriod: tc.atNext}
			if tc.date != "" {
				req.EffectiveDate = mustDate(tc.date)
			}
			plan, err := PlanServiceChange(req)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Effective != mustDate(tc.wantEffective) {
				t.Errorf("effective %s, want %s (why %q)", plan.Effective, tc.wantEffective, plan.Why)
			}
			if got := amounts(plan); fmt.Sprint(got) != fmt.Sprint(tc.wantLines) {
				t.Errorf("lines %v, want %v", got, tc.wantLines)
			}
			for i, d := range tc.wantDesc {
				if i >= len(plan.Lines) || !strings.HasPrefix(plan.Lines[i].Description, d) {
					t.Errorf("line %d description %q, want prefix %q", i, lineDesc(plan, i), d)
				}
			}
			if plan.Invoicing != tc.wantInvoicing || plan.Kind != tc.wantKind {
				t.Errorf("invoicing %s kind %s, want %s %s (why %q)", plan.Invoicing, plan.Kind, tc.wantInvoicing, tc.wantKind, plan.Why)
			}
			if tc.wantInvoicing == InvoiceImmediately && plan.InvoicePeriod != lcMarch27 {
				t.Errorf("immediate invoice period %v, want March", plan.InvoicePeriod)
			}
			if err := checkProration(tc.svc.Coverage, plan); err != nil {
				t.Error(err)
			}
			if plan.Service == nil || plan.Service.Effective != plan.Effective || plan.Audit.Actor != tc.ctx.Actor || plan.Audit.Entity != "service" {
				t.Errorf("service update %+v, audit %+v", plan.Service, plan.Audit)
			}
		})
	}
}

// A plan change schedules the new plan's speed for its effective date:
// today's change in the change's transaction, a later one on its date (the
// store's job); a quantity change alone changes no speed.
func TestPlanServiceChangeSchedulesTheSpeed(t *testing.T) {
	upgradesNow := LifecyclePolicy{PlanChangeTiming: PlanChangeUpgradesNow}
	tests := []struct {
		name   string
		ctx    LifecycleContext
		svc    LifecycleService
		to     Plan
		qty    int64
		date   string
		atNext bool
		wantOn string // "": no speed change
		future bool   // the why says the old speed stays until then
	}{
		{name: "today", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), to: lcFiber100, wantOn: "2027-03-10"},
		{name: "a date next month", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), to: lcFiber100,
			date: "2027-04-15", wantOn: "2027-04-15", future: true},
		{name: "at the next period", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), to: lcFiber100,
			atNext: true, wantOn: "2027-04-01", future: true},
		{name: "a downgrade moved to the next period", ctx: lcContext("2027-03-10", upgradesNow), svc: lcService(lcFiber100, 1), to: lcFiber50,
			date: "2027-03-10", wantOn: "2027-04-01", future: true},
		{name: "quantity alone", ctx: lcContext("2027-03-10", LifecyclePolicy{}), svc: lcService(lcFiber50, 1), qty: 2, date: "2027-04-15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ServiceChangeRequest{Context: tc.ctx, Service: tc.svc, NewPlan: tc.to, NewQuantity: tc.qty, AtNextPeriod: tc.atNext}
			if tc.date != "" {
				req.EffectiveDate = mustDate(tc.date)
			}
			plan, err := PlanServiceChange(req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantOn == "" {
				if len(plan.Enforcement) != 0 {
					t.Errorf("enforcement %+v, want none", plan.Enforcement)
				}
				return
			}
			if len(plan.Enforcement) != 1 {
				t.Fatalf("enforcement %+v, want the speed on %s", plan.Enforcement, tc.wantOn)
			}
			e := plan.Enforcement[0]
			if e.On != mustDate(tc.wantOn) || e.On != plan.Effective || e.Cause != CausePlanChanged || e.State != "" || e.Remove ||
				e.Service != tc.svc.Ref || !strings.HasPrefix(e.Reason, "plan changed: ") {
				t.Errorf("enforcement %+v, want the speed of %s on %s", e, tc.to.Name, tc.wantOn)
			}
			said := strings.Contains(strings.Join(plan.Why, "\n"), "until then the service keeps "+tc.svc.Plan.Name+"'s")
			if said != tc.future {
				t.Errorf("why %q: says the old speed stays %v, want %v", plan.Why, said, tc.future)
			}
		})
	}
}

func lineDesc(p LifecyclePlan, i int) string {
	if i < len(p.Lines) {
		return p.Lines[i].Description
	}
	return "(none)"
}

// The audit entry records the fields a change edits, before and after.
func TestPlanServiceChangeAudit(t *testing.T) {
	plan, err := PlanServiceChange(ServiceChangeRequest{Context: lcContext("2027-03-10", LifecyclePolicy{}), Service: lcService(lcFiber50, 1), NewPlan: lcFiber100, NewQuantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := plan.Audit
	if a.Before["plan_id"] != int64(1) || a.After["plan_id"] != int64(2) || a.Before["quantity"] != int64(1) || a.After["quantity"] != int64(2) ||
		a.After["effective_date"] != mustDate("2027-03-10") || a.Reason != "customer called" || a.Action != LifecyclePlanChange {
		t.Errorf("audit %+v", a)
	}
	if s := plan.Service; s.Before.PlanID != 1 || s.After.PlanID != 2 || s.After.Quantity != 2 || s.After.PlanName != "Fiber 100" {
		t.Errorf("service update %+v", s)
	}
}

func TestPlanServiceChangeRefuses(t *testing.T) {
	ctx := lcContext("2027-03-10", LifecyclePolicy{})
	eur := lcFiber100
	eur.Currency = "EUR"
	future := lcService(lcFiber50, 1)
	future.Start = mustDate("2027-03-20")
	ended := lcService(lcFiber50, 1)
	ended.End = mustDate("2027-03-15")
	closedCtx := ctx
	closedCtx.Account.Status, closedCtx.Account.Number = AccountClosed, "A-000007"
	tests := []struct {
		name      string
		req       ServiceChangeRequest
		fragments []string
	}{
		{"same plan", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1), NewPlan: lcFiber50}, []string{"plan_id 1", "already the service's plan", "Fiber 50"}},
		{"same plan and quantity", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 2), NewPlan: lcFiber50, NewQuantity: 2}, []string{"plan_id 1"}},
		{"same quantity", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 2), NewQuantity: 2}, []string{"quantity 2", "already"}},
		{"nothing asked", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1)}, []string{"plan_id or quantity is required"}},
		{"negative quantity", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1), NewQuantity: -1}, []string{"quantity -1"}},
		{"huge quantity", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1), NewQuantity: 100_001}, []string{"quantity 100001"}},
		{"another currency", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1), NewPlan: eur}, []string{"plan_id 2", "EUR"}},
		{"another interval", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1), NewPlan: lcAnnual}, []string{"plan_id 4", "annual", "cancel and a new service"}},
		{"in the past", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1), NewPlan: lcFiber100, EffectiveDate: mustDate("2027-03-09")}, []string{"effective_date 2027-03-09", "before today 2027-03-10"}},
		{"before the start", ServiceChangeRequest{Context: ctx, Service: future, NewPlan: lcFiber100, EffectiveDate: mustDate("2027-03-15")}, []string{"effective_date 2027-03-15", "before the service's start"}},
		{"after the end", ServiceChangeRequest{Context: ctx, Service: ended, NewPlan: lcFiber100, EffectiveDate: mustDate("2027-03-15")}, []string{"effective_date 2027-03-15", "end 2027-03-15"}},
		{"bad policy", ServiceChangeRequest{Context: LifecycleContext{Account: lcAccount(), Type: lcType("UTC"), Policy: LifecyclePolicy{OnCancel: "shred"}, Now: ctx.Now},
			Service: lcService(lcFiber50, 1), NewPlan: lcFiber100}, []string{"on_cancel \"shred\""}},
		{"closed account", ServiceChangeRequest{Context: closedCtx, Service: lcService(lcFiber50, 1), NewPlan: lcFiber100}, []string{"closed account A-000007", "reopen the account first"}},
		{"overlapping coverage", ServiceChangeRequest{Context: ctx, Service: lcService(lcFiber50, 1, invoiced(lcFiber50, 1, lcMarch27), invoiced(lcFiber50, 1, lcMarch27)), NewPlan: lcFiber100}, []string{"coverage[1]", "overlap"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanServiceChange(tc.req)
			wantInvalid(t, err, tc.fragments...)
		})
	}
}

// Two changes in one period: Fiber 50 → Fiber 100 on Mar 10, then Fiber
// 100 → Fiber 200 on Mar 20. The second credits what the first charged
// for Mar 20–31, so March ends up charged exactly 9 days of Fiber 50, 10
// of Fiber 100 and 12 of Fiber 200, each an exact [Prorate] piece.
func TestTwoChangesInOnePeriod(t *testing.T) {
	svc := lcService(lcFiber50, 1)
	first, err := PlanServiceChange(ServiceChangeRequest{Context: lcContext("2027-03-10", LifecyclePolicy{}), Service: svc, NewPlan: lcFiber100})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkProration(svc.Coverage, first); err != nil {
		t.Fatal(err)
	}
	svc.Plan, svc.Coverage = lcFiber100, first.Coverage
	second, err := PlanServiceChange(ServiceChangeRequest{Context: lcContext("2027-03-20", LifecyclePolicy{}), Service: svc, NewPlan: lcFiber200})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkProration(svc.Coverage, second); err != nil {
		t.Fatal(err)
	}
	// 12/31 × 80.00 = 30.97 (8000 − F(19) = 8000 − 4903), 12/31 × 120.00 = 46.45 (12000 − 7355).
	if got := amounts(second); fmt.Sprint(got) != "[-3097 4645]" {
		t.Errorf("second change lines %v", got)
	}
	if !strings.HasPrefix(second.Lines[0].Description, "Fiber 100 → Fiber 200 from Mar 20: credit 12 of 31 days, Mar 20 to Mar 31, of Fiber 100") {
		t.Errorf("second credit %q", second.Lines[0].Description)
	}
	var march int64 = 5000 // the invoice issued for March
	for _, l := range append(first.Lines, second.Lines...) {
		march += l.Amount
	}
	want := Prorate(5000, lcMarch27, lcMarch27.Start, mustDate("2027-03-10")) +
		Prorate(8000, lcMarch27, mustDate("2027-03-10"), mustDate("2027-03-20")) +
		Prorate(12000, lcMarch27, mustDate("2027-03-20"), lcMarch27.End)
	if march != want || march != coverageTotal(second.Coverage) {
		t.Errorf("March charged %d in all, coverage says %d, want %d", march, coverageTotal(second.Coverage), want)
	}
	if len(second.Coverage) != 3 || second.Coverage[1].PlanName != "Fiber 100" || second.Coverage[1].Days() != 10 {
		t.Errorf("coverage after both: %+v", second.Coverage)
	}
}
