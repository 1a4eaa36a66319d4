package billing

import (
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
		})
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
