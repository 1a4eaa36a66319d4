package billing

import (
	"slices"
	"testing"
)

// TestBillableInSplitsAtChangesPausesAndPrices: the billing run's view of
// a service over its lifecycle, period by period.
func TestBillableInSplitsAtChangesPausesAndPrices(t *testing.T) {
	f50 := Plan{ID: 1, Name: "Fiber 50", Price: 5000, Currency: "USD", Interval: IntervalMonthly}
	f100 := Plan{ID: 2, Name: "Fiber 100", Price: 8000, Currency: "USD", Interval: IntervalMonthly}
	base := BillableService{ServiceID: 9, Plan: f50, Start: mustDate("2027-01-15")}
	march, april := per("2027-03-01", "2027-04-01"), per("2027-04-01", "2027-05-01")
	type piece struct {
		plan       string
		price, qty int64
		start, end string
		hold       bool
	}
	tests := []struct {
		name string
		h    ServiceHistory
		p    Period
		hold int64
		want []piece
	}{
		{"no history: the service as it is", ServiceHistory{Service: base}, march, 0,
			[]piece{{"Fiber 50", 5000, 0, "2027-01-15", "", false}}},
		{"a change on Mar 10: split there, the change day at the new terms",
			ServiceHistory{Service: base, Terms: []TermsFrom{{mustDate("2027-01-15"), f50, 1}, {mustDate("2027-03-10"), f100, 3}}}, march, 0,
			[]piece{{"Fiber 50", 5000, 1, "2027-01-15", "2027-03-10", false}, {"Fiber 100", 8000, 3, "2027-03-10", "", false}}},
		{"a first row dated after the start still holds from the start",
			ServiceHistory{Service: base, Terms: []TermsFrom{{mustDate("2027-02-01"), f100, 1}}}, march, 0,
			[]piece{{"Fiber 100", 8000, 1, "2027-01-15", "", false}}},
		{"a price version from April prices April, not March",
			ServiceHistory{Service: base, Versions: map[int64][]PriceVersion{1: {{PlanID: 1, Price: 5500, EffectiveFrom: mustDate("2027-04-01")}}}}, april, 0,
			[]piece{{"Fiber 50", 5500, 0, "2027-01-15", "", false}}},
		{"a grandfathered version leaves an older service alone",
			ServiceHistory{Service: base, Versions: map[int64][]PriceVersion{1: {{PlanID: 1, Price: 5500, EffectiveFrom: mustDate("2027-04-01"), Grandfather: true}}}}, april, 0,
			[]piece{{"Fiber 50", 5000, 0, "2027-01-15", "", false}}},
		{"a pause with a hold fee: around it, and the hold during it",
			ServiceHistory{Service: base, PauseFrom: mustDate("2027-04-05"), PauseTo: mustDate("2027-04-10")}, april, 1000,
			[]piece{{"Fiber 50", 5000, 0, "2027-01-15", "2027-04-05", false}, {"Fiber 50", 5000, 0, "2027-04-10", "", false},
				{"Vacation hold", 1000, 1, "2027-04-05", "2027-04-10", true}}},
		// A second pause replaced the first on the service: a catch-up
		// run billing April leaves out the days of both.
		{"an earlier pause and the current one: around both",
			ServiceHistory{Service: base, EarlierPauses: []PauseSpan{{mustDate("2027-04-05"), mustDate("2027-04-10")}},
				PauseFrom: mustDate("2027-04-20"), PauseTo: mustDate("2027-04-25")}, april, 0,
			[]piece{{"Fiber 50", 5000, 0, "2027-01-15", "2027-04-05", false}, {"Fiber 50", 5000, 0, "2027-04-10", "2027-04-20", false},
				{"Fiber 50", 5000, 0, "2027-04-25", "", false}}},
		{"two earlier pauses with a hold fee, one across a change of terms",
			ServiceHistory{Service: base, Terms: []TermsFrom{{mustDate("2027-01-15"), f50, 1}, {mustDate("2027-04-08"), f100, 1}},
				EarlierPauses: []PauseSpan{{mustDate("2027-04-05"), mustDate("2027-04-10")}, {mustDate("2027-04-20"), mustDate("2027-04-22")}}}, april, 1000,
			[]piece{{"Fiber 50", 5000, 1, "2027-01-15", "2027-04-05", false}, {"Vacation hold", 1000, 1, "2027-04-05", "2027-04-08", true},
				{"Fiber 100", 8000, 1, "2027-04-10", "2027-04-20", false}, {"Fiber 100", 8000, 1, "2027-04-22", "", false},
				{"Vacation hold", 1000, 1, "2027-04-20", "2027-04-22", true}, {"Vacation hold", 1000, 1, "2027-04-08", "2027-04-10", true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []piece
			for _, s := range tc.h.BillableIn(tc.p, tc.hold) {
				end := ""
				if !s.End.IsZero() {
					end = s.End.String()
				}
				got = append(got, piece{s.Plan.Name, s.Plan.Price, s.Quantity, s.Start.String(), end, s.Hold})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestComposeInvoiceQuantityAndSpans: price × quantity, and one span per
// recurring line with its basis.
func TestComposeInvoiceQuantityAndSpans(t *testing.T) {
	at, a, jan := composeFixture(t)
	s := svc(5, fiber, "2026-01-11", "")
	s.Quantity = 3
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: jan, Services: []BillableService{s}})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	want := Prorate(15000, jan, mustDate("2026-01-11"), jan.End)
	if inv.Lines[0].Amount != want || len(inv.Spans) != 1 {
		t.Fatalf("lines %+v spans %+v, want %d", inv.Lines, inv.Spans, want)
	}
	sp := inv.Spans[0]
	if sp.ServiceID != 5 || sp.Price != 15000 || sp.UnitPrice != 5000 || sp.Quantity != 3 || sp.Period != jan || sp.From != mustDate("2026-01-11") || sp.Amount() != want {
		t.Errorf("span %+v", sp)
	}
	s.Quantity = maxQuantity + 1
	if _, _, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: jan, Services: []BillableService{s}}); ErrorCode(err) != EINVALID {
		t.Errorf("quantity out of range: %v", err)
	}
}

// TestComposeAdjustmentInvoice: issued today, due after due_days, taxed,
// an adjustment beside the regular invoice; a plan without amounts is
// refused.
func TestComposeAdjustmentInvoice(t *testing.T) {
	at, a, jan := composeFixture(t)
	sid := int64(5)
	lines := []ProratedLine{
		{InvoiceLine: InvoiceLine{Kind: LineCredit, Description: "credit", ServiceID: &sid, PeriodStart: mustDate("2026-01-10"), PeriodEnd: jan.End, Amount: -3548, Taxable: true}},
		{InvoiceLine: InvoiceLine{Kind: LineRecurring, Description: "charge", ServiceID: &sid, PeriodStart: mustDate("2026-01-10"), PeriodEnd: jan.End, Amount: 5677, Taxable: true}},
	}
	today := mustDate("2026-01-10")
	inv, err := ComposeAdjustmentInvoice(a, at, jan, lines, []TaxRate{texas}, today)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Kind != InvoiceAdjustment || inv.IssueDate != today || inv.DueDate != today.AddDays(at.DueDays) || inv.Period != jan {
		t.Errorf("invoice %+v", inv)
	}
	if len(inv.Lines) != 3 || inv.Lines[0].Kind != LineCredit || inv.Lines[1].Kind != LineRecurring || inv.Lines[2].Kind != LineTax ||
		inv.Lines[0].ChargeID != nil || inv.Subtotal != 2129 || inv.Tax != texas.Tax(2129) {
		t.Errorf("lines %+v subtotal %d tax %d", inv.Lines, inv.Subtotal, inv.Tax)
	}
	if _, err := ComposeAdjustmentInvoice(a, at, jan, nil, nil, today); ErrorCode(err) != EINVALID {
		t.Errorf("no lines: %v", err)
	}
}
