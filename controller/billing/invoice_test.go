package billing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// composeFixture is a fixed-day (1st) account type in Chicago, an account
// in Texas and January 2026 as the period.
func composeFixture(t *testing.T) (AccountType, Account, Period) {
	t.Helper()
	at := AccountType{ID: 1, Name: "Residential", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7,
		TimeZone: "America/Chicago", DelinquencyWeekdays: weekdaysOnly, HolidayCalendars: []string{"US"}}
	if err := at.Validate(); err != nil {
		t.Fatal(err)
	}
	a := Account{ID: 42, Number: "A-000042", Name: "Ada", AccountTypeID: 1, Currency: "USD", Status: AccountCurrent,
		TaxJurisdiction: "US-TX-AUSTIN", AnchorDate: mustDate("2025-06-01")}
	return at, a, per("2026-01-01", "2026-02-01")
}

var (
	fiber     = Plan{ID: 1, Name: "Fiber 100", Price: 5000, Currency: "USD", Interval: IntervalMonthly, Taxable: true}
	static    = Plan{ID: 2, Name: "Static IP", Price: 1000, Currency: "USD", Interval: IntervalMonthly}
	texas     = TaxRate{Jurisdiction: "US-TX-AUSTIN", Name: "Texas sales tax", Rate: "0.0625"}
	austin    = TaxRate{Jurisdiction: "US-TX-AUSTIN", Name: "Austin city tax", Rate: "0.02"}
	installed = OneTimeCharge{ID: 7, AccountID: 42, Description: "Installation", Amount: 2500, Taxable: true, ChargeDate: mustDate("2025-12-20")}
)

func svc(id int64, p Plan, start, end string) BillableService {
	s := BillableService{ServiceID: id, Name: "Home", Plan: p, Start: mustDate(start)}
	if end != "" {
		s.End = mustDate(end)
	}
	return s
}

type wantLine struct {
	kind   LineKind
	amount int64
	from   string // PeriodStart, "" if zero
	to     string
}

func TestComposeInvoice(t *testing.T) {
	at, a, jan := composeFixture(t)
	untaxed := a
	untaxed.TaxJurisdiction = ""
	tests := []struct {
		name                 string
		account              Account
		period               Period
		services             []BillableService
		charges              []OneTimeCharge
		rates                []TaxRate
		wantOK               bool
		lines                []wantLine
		subtotal, tax, total int64
		why                  string // a fragment of one Why line
	}{
		{
			name: "full month", account: untaxed, period: jan,
			services: []BillableService{svc(1, fiber, "2025-06-01", "")},
			wantOK:   true, lines: []wantLine{{LineRecurring, 5000, "2026-01-01", "2026-02-01"}},
			subtotal: 5000, total: 5000,
		},
		{
			name: "service starting mid-period is prorated", account: untaxed, period: jan,
			services: []BillableService{svc(1, fiber, "2026-01-15", "")},
			wantOK:   true, lines: []wantLine{{LineRecurring, 2742, "2026-01-15", "2026-02-01"}},
			subtotal: 2742, total: 2742, why: "Fiber 100 - Home prorated: active 17 of 31 days of 2026-01-01 to 2026-01-31, 27.42 of 50.00",
		},
		{
			name: "service ending mid-period is prorated", account: untaxed, period: jan,
			services: []BillableService{svc(1, fiber, "2025-06-01", "2026-01-11")},
			wantOK:   true, lines: []wantLine{{LineRecurring, 1613, "2026-01-01", "2026-01-11"}},
			subtotal: 1613, total: 1613,
		},
		{
			name: "service starting and ending inside the period", account: untaxed, period: jan,
			services: []BillableService{svc(1, fiber, "2026-01-10", "2026-01-20")},
			wantOK:   true, lines: []wantLine{{LineRecurring, 5000*19/31 - 5000*9/31, "2026-01-10", "2026-01-20"}},
			subtotal: 1613, total: 1613,
		},
		{
			name: "one-time charge", account: untaxed, period: jan,
			services: []BillableService{svc(1, fiber, "2025-06-01", "")},
			charges:  []OneTimeCharge{installed},
			wantOK:   true, lines: []wantLine{{LineRecurring, 5000, "2026-01-01", "2026-02-01"}, {LineOneTime, 2500, "", ""}},
			subtotal: 7500, total: 7500,
		},
		{
			name: "two tax rates over the taxable lines only", account: a, period: jan,
			services: []BillableService{svc(1, fiber, "2025-06-01", ""), svc(2, static, "2025-06-01", "")},
			charges:  []OneTimeCharge{installed},
			rates:    []TaxRate{texas, austin},
			wantOK:   true,
			// taxable base 7500: 6.25% = 468.75 → 469; 2% = 150.
			lines: []wantLine{{LineRecurring, 5000, "2026-01-01", "2026-02-01"}, {LineRecurring, 1000, "2026-01-01", "2026-02-01"},
				{LineOneTime, 2500, "", ""}, {LineTax, 469, "", ""}, {LineTax, 150, "", ""}},
			subtotal: 8500, tax: 619, total: 9119,
		},
		{
			name: "untaxed plan in a taxed jurisdiction gets no tax lines", account: a, period: jan,
			services: []BillableService{svc(2, static, "2025-06-01", "")},
			rates:    []TaxRate{texas, austin},
			wantOK:   true, lines: []wantLine{{LineRecurring, 1000, "2026-01-01", "2026-02-01"}},
			subtotal: 1000, total: 1000,
		},
		{
			name: "a negative charge is a credit line and reduces the taxable base", account: a, period: jan,
			services: []BillableService{svc(1, fiber, "2025-06-01", "")},
			charges:  []OneTimeCharge{{ID: 8, AccountID: 42, Description: "Outage credit", Amount: -1000, Taxable: true, ChargeDate: mustDate("2026-01-05")}},
			rates:    []TaxRate{texas},
			wantOK:   true, lines: []wantLine{{LineRecurring, 5000, "2026-01-01", "2026-02-01"}, {LineCredit, -1000, "", ""}, {LineTax, 250, "", ""}},
			subtotal: 4000, tax: 250, total: 4250,
		},
		{
			name: "nothing to bill: service ended before the period", account: a, period: jan,
			services: []BillableService{svc(1, fiber, "2025-06-01", "2026-01-01")},
			rates:    []TaxRate{texas},
		},
		{
			name: "nothing to bill: service starts after the period", account: a, period: jan,
			services: []BillableService{svc(1, fiber, "2026-02-01", "")},
		},
		{
			name: "nothing to bill: no services", account: a, period: jan,
		},
		{
			name: "quarterly plan is charged in the month its quarter starts", account: untaxed, period: jan,
			services: []BillableService{svc(1, Plan{Name: "Quarterly", Price: 9000, Currency: "USD", Interval: IntervalQuarterly}, "2025-06-01", "")},
			wantOK:   true, lines: []wantLine{{LineRecurring, 9000, "2026-01-01", "2026-04-01"}},
			subtotal: 9000, total: 9000,
		},
		{
			name: "quarterly plan is not charged in the quarter's other months", account: untaxed, period: per("2026-02-01", "2026-03-01"),
			services: []BillableService{svc(1, Plan{Name: "Quarterly", Price: 9000, Currency: "USD", Interval: IntervalQuarterly}, "2025-06-01", "")},
		},
		{
			name: "quarterly plan starting mid-quarter is charged prorated in its first month", account: untaxed, period: per("2026-02-01", "2026-03-01"),
			services: []BillableService{svc(1, Plan{Name: "Quarterly", Price: 9000, Currency: "USD", Interval: IntervalQuarterly}, "2026-02-01", "")},
			// Jan 1 - Apr 1 is 90 days; Feb 1 - Apr 1 is 59.
			wantOK: true, lines: []wantLine{{LineRecurring, 9000 - 9000*31/90, "2026-02-01", "2026-04-01"}},
			subtotal: 5900, total: 5900,
		},
		{
			name: "annual plan ending mid-year is charged to its end", account: untaxed, period: jan,
			services: []BillableService{svc(1, Plan{Name: "Annual", Price: 36500, Currency: "USD", Interval: IntervalAnnual}, "2025-06-01", "2026-07-01")},
			wantOK:   true, lines: []wantLine{{LineRecurring, 18100, "2026-01-01", "2026-07-01"}},
			subtotal: 18100, total: 18100,
		},
		{
			name: "free plan alone is nothing to bill", account: untaxed, period: jan,
			services: []BillableService{svc(1, Plan{Name: "Free", Currency: "USD"}, "2025-06-01", "")},
			lines:    []wantLine{{LineRecurring, 0, "2026-01-01", "2026-02-01"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, ok, err := ComposeInvoice(InvoiceRequest{Account: tc.account, Type: at, Period: tc.period,
				Services: tc.services, Charges: tc.charges, TaxRates: tc.rates})
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v (lines %+v)", ok, tc.wantOK, inv.Lines)
			}
			var got []wantLine
			for _, l := range inv.Lines {
				w := wantLine{kind: l.Kind, amount: l.Amount}
				if !l.PeriodStart.IsZero() {
					w.from, w.to = l.PeriodStart.String(), l.PeriodEnd.String()
				}
				got = append(got, w)
			}
			if !slices.Equal(got, tc.lines) {
				t.Errorf("lines = %+v\nwant    %+v", got, tc.lines)
			}
			if !ok {
				return
			}
			if inv.Subtotal != tc.subtotal || inv.Tax != tc.tax || inv.Total != tc.total {
				t.Errorf("subtotal/tax/total = %d/%d/%d, want %d/%d/%d", inv.Subtotal, inv.Tax, inv.Total, tc.subtotal, tc.tax, tc.total)
			}
			if inv.AccountID != 42 || inv.Period != tc.period || inv.Currency != "USD" || inv.Status != InvoiceOpen {
				t.Errorf("header wrong: %+v", inv)
			}
			if tc.why != "" && !slices.ContainsFunc(inv.Why, func(s string) bool { return strings.Contains(s, tc.why) }) {
				t.Errorf("why %q does not mention %q", inv.Why, tc.why)
			}
			if err := InvoiceTx(inv).Validate(); err != nil {
				t.Errorf("InvoiceTx: %v", err)
			}
		})
	}
}

func TestComposeInvoiceDatesAndLabels(t *testing.T) {
	at, a, jan := composeFixture(t)
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: jan,
		Services: []BillableService{svc(1, fiber, "2026-01-15", "")}, Charges: []OneTimeCharge{installed}, TaxRates: []TaxRate{texas}})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// Issue Dec 27 (Sat; the rule is not applied to issue dates), due Jan
	// 10 (Sat), delinquency Jan 17 (Sat) → Jan 18 Sun → Jan 19 is MLK Day →
	// Tue Jan 20.
	if inv.IssueDate != mustDate("2025-12-27") || inv.DueDate != mustDate("2026-01-10") || inv.DelinquencyDate != mustDate("2026-01-20") {
		t.Errorf("dates %s %s %s; why %q", inv.IssueDate, inv.DueDate, inv.DelinquencyDate, inv.Why)
	}
	wantWhy := "delinquency date moved from Sat 2026-01-17 to Tue 2026-01-20: Saturday is not an allowed weekday; Sunday is not an allowed weekday; Mon 2026-01-19 holiday: Martin Luther King Jr. Day (US)"
	if !slices.Contains(inv.Why, wantWhy) {
		t.Errorf("why = %q", inv.Why)
	}
	if d := inv.Lines[0].Description; d != "Fiber 100 - Home (monthly), 2026-01-15 to 2026-01-31, 17 of 31 days" {
		t.Errorf("recurring description %q", d)
	}
	if d := inv.Lines[2].Description; d != "Texas sales tax 6.25%" {
		t.Errorf("tax description %q", d)
	}
	if inv.Lines[0].ServiceID == nil || *inv.Lines[0].ServiceID != 1 || inv.Lines[1].ChargeID == nil || *inv.Lines[1].ChargeID != 7 {
		t.Errorf("line references wrong: %+v", inv.Lines)
	}
}

func TestComposeInvoiceErrors(t *testing.T) {
	at, a, jan := composeFixture(t)
	euro := fiber
	euro.Currency = "EUR"
	later := installed
	later.ChargeDate = mustDate("2026-02-01")
	billed := installed
	billed.InvoiceID = new(int64(3))
	other := installed
	other.AccountID = 43
	zero := installed
	zero.Amount = 0
	badAT := at
	badAT.HolidayCalendars = []string{"XX"}
	tests := []struct {
		name string
		req  InvoiceRequest
		want []string
	}{
		{"currency mismatch", InvoiceRequest{Account: a, Type: at, Period: jan, Services: []BillableService{svc(1, euro, "2025-06-01", "")}},
			[]string{"service 1", `"Fiber 100"`, "EUR", "USD"}},
		{"empty period", InvoiceRequest{Account: a, Type: at, Period: per("2026-01-01", "2026-01-01")}, []string{"period", "empty"}},
		{"bad account currency", InvoiceRequest{Account: Account{Currency: "XYZ"}, Type: at, Period: jan}, []string{"currency", `"XYZ"`}},
		{"negative plan price", InvoiceRequest{Account: a, Type: at, Period: jan, Services: []BillableService{svc(1, Plan{Name: "Bad", Price: -1, Currency: "USD"}, "2025-06-01", "")}},
			[]string{"service 1", "price -1"}},
		{"unknown interval", InvoiceRequest{Account: a, Type: at, Period: jan, Services: []BillableService{svc(1, Plan{Name: "Bad", Currency: "USD", Interval: "weekly"}, "2025-06-01", "")}},
			[]string{"service 1", `"weekly"`}},
		{"service without start", InvoiceRequest{Account: a, Type: at, Period: jan, Services: []BillableService{{ServiceID: 9, Plan: fiber}}},
			[]string{"service 9", "start"}},
		{"charge after the period", InvoiceRequest{Account: a, Type: at, Period: jan, Charges: []OneTimeCharge{later}}, []string{"charge 7", "2026-02-01"}},
		{"charge already invoiced", InvoiceRequest{Account: a, Type: at, Period: jan, Charges: []OneTimeCharge{billed}}, []string{"charge 7", "invoice 3"}},
		{"charge of another account", InvoiceRequest{Account: a, Type: at, Period: jan, Charges: []OneTimeCharge{other}}, []string{"charge 7", "account 43"}},
		{"zero charge", InvoiceRequest{Account: a, Type: at, Period: jan, Charges: []OneTimeCharge{zero}}, []string{"charge 7", "amount 0"}},
		{"bad tax rate", InvoiceRequest{Account: a, Type: at, Period: jan, TaxRates: []TaxRate{{Jurisdiction: "US-TX-AUSTIN", Name: "x", Rate: "8.25"}}},
			[]string{"tax rate", `"8.25"`}},
		{"tax rate of another jurisdiction", InvoiceRequest{Account: a, Type: at, Period: jan, TaxRates: []TaxRate{{Jurisdiction: "US-CA", Name: "x", Rate: "0.08"}}},
			[]string{"tax rate", `"US-CA"`}},
		{"bad date rule", InvoiceRequest{Account: a, Type: badAT, Period: jan}, []string{"holiday_calendars", `"XX"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ComposeInvoice(tc.req)
			wantInvalid(t, err, tc.want...)
		})
	}
}

func TestAccountAnchor(t *testing.T) {
	at := AccountType{Name: "x", BillingMode: BillingAnniversary, TimeZone: "America/Chicago"}
	// Created 2026-03-01 03:00 UTC = Feb 28 21:00 in Chicago.
	a := Account{CreatedAt: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}
	if d, m := AccountAnchor(at, a); d != 28 || m != time.February {
		t.Errorf("anchor from creation = %d %s, want 28 February (local date)", d, m)
	}
	a.AnchorDate = mustDate("2026-01-31")
	if d, m := AccountAnchor(at, a); d != 31 || m != time.January {
		t.Errorf("anchor = %d %s", d, m)
	}
	at.BillingMode, at.BillingDay = BillingFixedDay, 15
	if d, m := AccountAnchor(at, a); d != 15 || m != time.January {
		t.Errorf("fixed-day anchor = %d %s", d, m)
	}
}

func TestPeriodToInvoiceCatchUp(t *testing.T) {
	tests := []struct {
		name  string
		typ   AccountType
		acct  Account
		last  Period
		today string
		want  []Period
	}{
		{
			name:  "anniversary account that missed three months catches up period by period",
			typ:   AccountType{Name: "x", BillingMode: BillingAnniversary, InvoiceLeadDays: 3},
			acct:  Account{AnchorDate: mustDate("2026-01-10")},
			today: "2026-04-20",
			want:  []Period{per("2026-01-10", "2026-02-10"), per("2026-02-10", "2026-03-10"), per("2026-03-10", "2026-04-10"), per("2026-04-10", "2026-05-10")},
		},
		{
			name:  "resumes after the last invoiced period",
			typ:   AccountType{Name: "x", BillingMode: BillingAnniversary, InvoiceLeadDays: 3},
			acct:  Account{AnchorDate: mustDate("2026-01-10")},
			last:  per("2026-02-10", "2026-03-10"),
			today: "2026-05-07",
			want:  []Period{per("2026-03-10", "2026-04-10"), per("2026-04-10", "2026-05-10"), per("2026-05-10", "2026-06-10")},
		},
		{
			name:  "issue date in the future: nothing yet",
			typ:   AccountType{Name: "x", BillingMode: BillingAnniversary, InvoiceLeadDays: 3},
			acct:  Account{AnchorDate: mustDate("2026-01-10")},
			last:  per("2026-04-10", "2026-05-10"),
			today: "2026-05-06",
		},
		{
			name:  "fixed day: first period is the one containing the anchor date",
			typ:   AccountType{Name: "x", BillingMode: BillingFixedDay, BillingDay: 1},
			acct:  Account{AnchorDate: mustDate("2026-01-20")},
			today: "2026-03-01",
			want:  []Period{per("2026-01-01", "2026-02-01"), per("2026-02-01", "2026-03-01"), per("2026-03-01", "2026-04-01")},
		},
		{
			name:  "the date rule delays issue dates when applied to them",
			typ:   AccountType{Name: "x", BillingMode: BillingFixedDay, BillingDay: 1, DelinquencyWeekdays: weekdaysOnly, ApplyDateRuleToIssue: true},
			acct:  Account{AnchorDate: mustDate("2026-07-20")},
			today: "2026-08-02", // Aug 1 2026 is a Saturday: issue moves to Mon Aug 3
			want:  []Period{per("2026-07-01", "2026-08-01")},
		},
		{
			name:  "a last invoiced period from an older anchor is followed without gap or overlap",
			typ:   AccountType{Name: "x", BillingMode: BillingFixedDay, BillingDay: 1},
			acct:  Account{AnchorDate: mustDate("2026-01-15")},
			last:  per("2026-01-15", "2026-02-15"),
			today: "2026-03-01",
			want:  []Period{per("2026-02-15", "2026-03-01"), per("2026-03-01", "2026-04-01")},
		},
		{
			name:  "anchor from the creation date when none is set",
			typ:   AccountType{Name: "x", BillingMode: BillingAnniversary, TimeZone: "America/Chicago"},
			acct:  Account{CreatedAt: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}, // Feb 28 local
			today: "2026-03-28",
			want:  []Period{per("2026-02-28", "2026-03-28"), per("2026-03-28", "2026-04-28")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.typ.Validate(); err != nil {
				t.Fatal(err)
			}
			r := mustRule(t, tc.typ)
			var got []Period
			last := tc.last
			for range 100 {
				p, ok := PeriodToInvoice(tc.typ, r, tc.acct, last, mustDate(tc.today))
				if !ok {
					break
				}
				got = append(got, p)
				last = p
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("periods = %v\nwant      %v", got, tc.want)
			}
		})
	}
}

func TestBillingPeriodFor(t *testing.T) {
	at := AccountType{Name: "x", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 5, DelinquencyWeekdays: weekdaysOnly, ApplyDateRuleToIssue: true}
	if err := at.Validate(); err != nil {
		t.Fatal(err)
	}
	r := mustRule(t, at)
	a := Account{AnchorDate: mustDate("2026-01-01")}
	// Period Aug 1: issue Mon Jul 27. Period Sep 1: issue Thu Aug 27.
	for today, want := range map[string]Period{
		"2026-07-27": per("2026-08-01", "2026-09-01"),
		"2026-08-27": per("2026-09-01", "2026-10-01"),
	} {
		if p, ok := BillingPeriodFor(at, r, a, mustDate(today)); !ok || p != want {
			t.Errorf("BillingPeriodFor(%s) = %v, %v; want %v", today, p, ok, want)
		}
	}
	// Issue dates move off weekends, so no period is issued on a Saturday.
	if p, ok := BillingPeriodFor(at, r, a, mustDate("2026-08-29")); ok {
		t.Errorf("Saturday 2026-08-29 is no issue date, got %v", p)
	}
	if p, ok := BillingPeriodFor(at, r, a, mustDate("2025-11-26")); ok {
		t.Errorf("before the anchor period, got %v", p)
	}
}

func ExampleComposeInvoice() {
	at := AccountType{Name: "Residential", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7}
	_ = at.Validate()
	a := Account{ID: 1, Currency: "USD", TaxJurisdiction: "US-TX", AnchorDate: NewDate(2026, 1, 15)}
	inv, _, _ := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: Period{NewDate(2026, 1, 1), NewDate(2026, 2, 1)},
		Services: []BillableService{{ServiceID: 1, Plan: Plan{Name: "Fiber 100", Price: 5000, Currency: "USD", Taxable: true}, Start: NewDate(2026, 1, 15)}},
		TaxRates: []TaxRate{{Jurisdiction: "US-TX", Name: "Sales tax", Rate: "0.0825"}}})
	for _, l := range inv.Lines {
		fmt.Printf("%-9s %8s  %s\n", l.Kind, FormatAmount(l.Amount, inv.Currency), l.Description)
	}
	fmt.Println("total", FormatAmount(inv.Total, inv.Currency), "due", inv.DueDate)
	// Output:
	// recurring    27.42  Fiber 100 (monthly), 2026-01-15 to 2026-01-31, 17 of 31 days
	// tax           2.26  Sales tax 8.25%
	// total 29.68 due 2026-01-10
}

// A transitional account period (after an anchor change) is not charged a
// full month: each overlapping monthly plan period is prorated over its own
// length.
func TestComposeInvoiceTransitionalPeriod(t *testing.T) {
	at, a, _ := composeFixture(t) // fixed day 1
	a.TaxJurisdiction = ""
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: per("2026-02-15", "2026-03-01"),
		Services: []BillableService{svc(1, Plan{Name: "Fiber", Price: 2800, Currency: "USD"}, "2025-06-01", "")}})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if len(inv.Lines) != 1 || inv.Total != 1400 || inv.Lines[0].PeriodStart != mustDate("2026-02-15") {
		t.Errorf("lines %+v total %d; want half of February", inv.Lines, inv.Total)
	}
	// Spanning two plan months: Jan 20 - Feb 15 is 12/31 of January and
	// 14/28 of February.
	inv, _, err = ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: per("2026-01-20", "2026-02-15"),
		Services: []BillableService{svc(1, Plan{Name: "Fiber", Price: 3100, Currency: "USD"}, "2025-06-01", "")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Lines) != 2 || inv.Lines[0].Amount != 1200 || inv.Lines[1].Amount != 3100/2 {
		t.Errorf("lines %+v", inv.Lines)
	}
}

// Property: billing an account period by period from its anchor (as the
// daily job does with PeriodToInvoice) charges every plan interval period
// of a service exactly once — its active days prorated over that interval
// period — whatever the interval, anchor and service dates.
func TestBillingCycleProperty(t *testing.T) {
	checkProperty(t, func(r *rand.Rand) error {
		req := randomRequest(r)
		at, a := req.Type, req.Account
		a.TaxJurisdiction, a.CreatedAt = "", time.Time{}
		rule, err := NewDateRule(at)
		if err != nil {
			return err
		}
		plan := Plan{Name: "p", Price: r.Int64N(1e7), Currency: a.Currency, Interval: randInterval(r)}
		s := BillableService{ServiceID: 1, Plan: plan, Start: a.AnchorDate.AddDays(r.IntN(100))}
		if r.IntN(2) == 0 {
			s.End = s.Start.AddDays(1 + r.IntN(1000))
		}
		today := a.AnchorDate.AddDays(r.IntN(1300))
		var last Period
		var charged int64
		for n := 0; ; n++ {
			p, ok := PeriodToInvoice(at, rule, a, last, today)
			if !ok {
				break
			}
			if n > 60 || (!last.IsZero() && p.Start != last.End) {
				return fmt.Errorf("period %d %v after %v", n, p, last)
			}
			inv, _, err := ComposeInvoice(InvoiceRequest{Account: a, Type: at, Period: p, Services: []BillableService{s}})
			if err != nil {
				return err
			}
			for _, l := range inv.Lines {
				charged += l.Amount
			}
			last = p
		}
		var want int64
		day, month := AccountAnchor(at, a)
		for ip := PeriodAt(s.Start, day, month, plan.Interval); ip.Start.Before(last.End); ip = ip.Next(day, month, plan.Interval) {
			from, to := ip.Start, ip.End
			if s.Start.After(from) {
				from = s.Start
			}
			if !s.End.IsZero() && s.End.Before(to) {
				to = s.End
			}
			if from.Before(to) && from.Before(last.End) {
				want += Prorate(plan.Price, ip, from, to)
			}
		}
		if charged != want {
			return fmt.Errorf("service %v-%v on %s plan %d, anchor %s, billed to %s: charged %d, want %d",
				s.Start, s.End, plan.Interval, plan.Price, a.AnchorDate, last.End, charged, want)
		}
		return nil
	})
}

func TestCheckVoidable(t *testing.T) {
	if err := CheckVoidable(3, InvoiceOpen); err != nil {
		t.Errorf("open: %v", err)
	}
	for _, s := range []InvoiceStatus{InvoicePaid, InvoiceVoid} {
		if err := CheckVoidable(3, s); ErrorCode(err) != ECONFLICT {
			t.Errorf("%s: %v", s, err)
		}
	}
}
