package billing

import (
	"slices"
	"strings"
	"testing"
)

// TestBillingDayChangeTransitionalInvoice: once an account's billing day
// moves (its override), the billing run's next invoice is for the
// transitional period from the end of the last invoiced period to the
// first start on the new day, each service's line a prorated piece of its
// plan period on the new day, saying so; the invoice after it is a full
// period on the new day. Properties: the days run on from the last
// invoiced period without a gap or an overlap; the transitional piece and
// the rest of its plan period sum exactly to the price; the piece, which
// touches its period's end, is within ½ minor unit of exact; the
// preview (PlanBillingDayChange) is the invoice's lines.
func TestBillingDayChangeTransitionalInvoice(t *testing.T) {
	cases := []struct {
		name            string
		zone            string
		oldDay, newDay  int
		last            Period
		transitionalEnd string
		price           int64
	}{
		{"1 → 15 after March", "America/Chicago", 1, 15, per("2027-03-01", "2027-04-01"), "2027-04-15", 5000},
		{"1 → 31 after January (February has 28 days)", "America/Chicago", 1, 31, per("2027-01-01", "2027-02-01"), "2027-02-28", 2999},
		{"15 → 1 after mid-January", "America/Chicago", 15, 1, per("2027-01-15", "2027-02-15"), "2027-03-01", 5000},
		{"28 → 2 across the Chicago DST week", "America/Chicago", 28, 2, per("2027-02-28", "2027-03-28"), "2027-04-02", 8000},
		{"1 → 2: one day", "America/Chicago", 1, 2, per("2027-04-01", "2027-05-01"), "2027-05-02", 2999},
		{"10 → 25 across the Berlin DST week", "Europe/Berlin", 10, 25, per("2027-03-10", "2027-04-10"), "2027-04-25", 4999},
	}
	plan := Plan{ID: 1, Name: "Fiber", Currency: "USD", Interval: IntervalMonthly}
	start := mustDate("2026-06-01")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan.Price = tc.price
			ty := AccountType{ID: 1, Name: "RES", BillingMode: BillingFixedDay, BillingDay: tc.oldDay, TimeZone: tc.zone}
			before := lcAccount()
			after := before
			after.BillingDay = tc.newDay
			services := []BillableService{{ServiceID: 10, Name: "Home", Plan: plan, Start: start}}

			p, ok := PeriodToInvoice(ty, DateRule{}, after, tc.last, mustDate("2030-01-01"))
			if !ok || p.Start != tc.last.End || p.End != mustDate(tc.transitionalEnd) {
				t.Fatalf("transitional period %v (%v); want %s..%s", p, ok, tc.last.End, tc.transitionalEnd)
			}
			inv, ok, err := ComposeInvoice(InvoiceRequest{Account: after, Type: ty, Period: p, Services: services})
			if err != nil || !ok || len(inv.Lines) != 1 {
				t.Fatalf("invoice %+v %v %v", inv, ok, err)
			}
			l := inv.Lines[0]
			ip := PeriodAt(p.Start, tc.newDay, 1, IntervalMonthly)
			days, full := int64(p.Days()), int64(ip.Days())
			switch {
			case l.PeriodStart != tc.last.End || l.PeriodEnd != p.End || ip.End != p.End:
				t.Fatalf("line %+v of plan period %v; want the days %v", l, ip, p)
			case Prorate(tc.price, ip, ip.Start, p.Start)+l.Amount != tc.price:
				t.Fatalf("the piece %d and the rest of %v do not sum to %d", l.Amount, ip, tc.price)
			case 2*abs64(l.Amount*full-tc.price*days) > full:
				t.Fatalf("the piece %d is more than ½ minor unit from %d × %d / %d", l.Amount, tc.price, days, full)
			case !strings.HasPrefix(l.Description, "Billing day moved to day ") || !strings.Contains(strings.Join(inv.Why, " "), "transitional"):
				t.Fatalf("line %q, why %v: want the transition said", l.Description, inv.Why)
			}

			ctx := LifecycleContext{Account: before, Type: ty, Now: lcAt(tc.zone, tc.last.Start.String(), 10, 0)}
			preview, err := PlanBillingDayChange(BillingDayRequest{Context: ctx, NewDay: tc.newDay, LastInvoiced: tc.last,
				Services: []LifecycleService{{Ref: ServiceRef{ID: 10, AccountID: before.ID}, Name: "Home", Plan: plan, Start: start}}})
			if err != nil || preview.InvoicePeriod != p || len(preview.Lines) != 1 || preview.Lines[0].Amount != l.Amount ||
				preview.Lines[0].Description != l.Description {
				t.Fatalf("preview %+v %v; want the invoice's line %+v", preview, err, l)
			}

			next, ok := PeriodToInvoice(ty, DateRule{}, after, p, mustDate("2030-01-01"))
			if !ok || next.Start != p.End || next != PeriodAt(p.End, tc.newDay, 1, IntervalMonthly) {
				t.Fatalf("the period after %v is %v; want a full one on day %d", p, next, tc.newDay)
			}
			inv, _, err = ComposeInvoice(InvoiceRequest{Account: after, Type: ty, Period: next, Services: services})
			if err != nil || len(inv.Lines) != 1 || inv.Lines[0].Amount != tc.price || strings.Contains(inv.Lines[0].Description, "Billing day") {
				t.Fatalf("the invoice after the transition %+v %v", inv, err)
			}
			// The preview shows that invoice too: its dates and amount.
			if f := preview.FirstRegular; f == nil || f.Period != next || f.Subtotal != inv.Subtotal || !sameLines(f.Lines, inv.Lines) || !strings.Contains(strings.Join(preview.Why, " "), "first regular invoice on the new day, for "+next.Start.String()) {
				t.Fatalf("first regular invoice previewed %+v (why %v); want %v: %+v", f, preview.Why, next, inv.Lines)
			}
		})
	}
}

// sameLines reports whether two invoices' lines say the same (their
// service and charge ids compared by value).
func sameLines(a, b []InvoiceLine) bool {
	return slices.EqualFunc(a, b, func(x, y InvoiceLine) bool {
		id := func(p *int64) int64 {
			if p == nil {
				return -1
			}
			return *p
		}
		return id(x.ServiceID) == id(y.ServiceID) && id(x.ChargeID) == id(y.ChargeID) &&
			x.Kind == y.Kind && x.Description == y.Description && x.PeriodStart == y.PeriodStart &&
			x.PeriodEnd == y.PeriodEnd && x.Amount == y.Amount && x.Taxable == y.Taxable
	})
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestBillingDayChangeMultiMonthPlans: a quarterly or annual plan billed
// on the old billing day up to the change, then on the new one (the
// account's override or its type's day), period by period as the billing
// run invoices them (each service's coverage end passed as CoveredUntil):
// every day from the service's start to the end of the last period
// invoiced is charged exactly once — the plan period on the old day runs
// to its end, the days from there to the first period on the new day are
// charged prorated over the new day's period containing them, and no
// whole period is charged twice.
func TestBillingDayChangeMultiMonthPlans(t *testing.T) {
	cases := []struct {
		name           string
		interval       Interval
		oldDay, newDay int
		// changedAfter is the end of the last period invoiced on the old day.
		changedAfter string
		typeDay      bool
	}{
		{"quarterly 1 → 15 at the quarter's end", IntervalQuarterly, 1, 15, "2027-04-01", false},
		{"quarterly 1 → 15 inside a quarter", IntervalQuarterly, 1, 15, "2027-02-01", false},
		{"quarterly 15 → 1", IntervalQuarterly, 15, 1, "2027-03-15", false},
		{"quarterly 20 → 5 over a quarter's start", IntervalQuarterly, 20, 5, "2027-04-20", false},
		{"annual 1 → 15", IntervalAnnual, 1, 15, "2027-03-01", false},
		{"annual 28 → 3", IntervalAnnual, 28, 3, "2027-01-28", false},
		{"quarterly, the type's day 1 → 15", IntervalQuarterly, 1, 15, "2027-02-01", true},
		{"annual, the type's day 10 → 1", IntervalAnnual, 10, 1, "2027-06-10", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := Plan{ID: 1, Name: "Fiber", Currency: "USD", Interval: tc.interval, Price: 29999}
			ty := AccountType{ID: 1, Name: "RES", BillingMode: BillingFixedDay, BillingDay: tc.oldDay, TimeZone: "America/Chicago"}
			a := lcAccount()
			var start Date
			svc := BillableService{ServiceID: 10, Name: "Home", Plan: plan}
			charged := map[Date]int{}
			var cov []BilledSpan
			var last Period
			changed := false
			var end Date
			// The change's preview of the first regular invoice on the new
			// day, checked against it once the billing run issues it.
			var firstRegular *InvoicePreview
			checked := false
			for range 40 {
				if !changed && !last.IsZero() && !last.End.Before(mustDate(tc.changedAfter)) {
					if !tc.typeDay {
						preview, err := PlanBillingDayChange(BillingDayRequest{
							Context: LifecycleContext{Account: a, Type: ty, Now: lcAt("America/Chicago", last.Start.String(), 10, 0)},
							NewDay:  tc.newDay, LastInvoiced: last,
							Services: []LifecycleService{{Ref: ServiceRef{ID: 10, AccountID: a.ID}, Name: "Home", Plan: plan, Start: start,
								Coverage: slices.Clone(cov)}}})
						if err != nil || preview.FirstRegular == nil {
							t.Fatalf("preview %+v %v", preview, err)
						}
						firstRegular = preview.FirstRegular
					}
					if tc.typeDay {
						ty.BillingDay = tc.newDay
					} else {
						a.BillingDay = tc.newDay
					}
					changed = true
				}
				p, ok := PeriodToInvoice(ty, DateRule{}, a, last, mustDate("2031-01-01"))
				if !ok {
					break
				}
				if last.IsZero() {
					// The service starts with the account's first period.
					start, svc.Start = p.Start, p.Start
				}
				s := svc
				s.CoveredUntil = CoveredUntil(cov)
				inv, _, err := ComposeInvoice(InvoiceRequest{Account: a, Type: ty, Period: p, Services: []BillableService{s}})
				if err != nil {
					t.Fatal(err)
				}
				if firstRegular != nil && p.Start == firstRegular.Period.Start {
					if p != firstRegular.Period || inv.Subtotal != firstRegular.Subtotal || !sameLines(inv.Lines, firstRegular.Lines) {
						t.Fatalf("first regular invoice %v %+v; previewed %+v", p, inv.Lines, *firstRegular)
					}
					checked = true
				}
				for _, sp := range inv.Spans {
					cov = append(cov, sp.BilledSpan)
					for d := sp.From; d.Before(sp.To); d = d.AddDays(1) {
						charged[d]++
					}
				}
				last, end = p, p.End
			}
			if !changed {
				t.Fatal("the billing day never changed")
			}
			if firstRegular != nil && !checked {
				t.Fatalf("the previewed first regular invoice %v was never issued", firstRegular.Period)
			}
			for d := start; d.Before(end); d = d.AddDays(1) {
				if charged[d] != 1 {
					t.Fatalf("%s charged %d times (billed up to %s)", d, charged[d], end)
				}
			}
		})
	}
}
