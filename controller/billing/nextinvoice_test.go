package billing

import "testing"

func TestNextInvoiceDate(t *testing.T) {
	fixed := AccountType{Name: "x", BillingMode: BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 5}
	for _, tc := range []struct {
		name       string
		typ        AccountType
		acct       Account
		last       Period
		today      string
		want       string // "" for none
		wantPeriod Period
	}{
		{"fixed day: the next period's issue date, lead days before it", fixed, Account{AnchorDate: mustDate("2026-01-20")},
			per("2026-12-01", "2027-01-01"), "2026-12-07", "2026-12-27", per("2027-01-01", "2027-02-01")},
		{"issued on the day itself", fixed, Account{AnchorDate: mustDate("2026-01-20")},
			per("2026-12-01", "2027-01-01"), "2026-12-27", "2026-12-27", per("2027-01-01", "2027-02-01")},
		{"a missed run is caught up today", fixed, Account{AnchorDate: mustDate("2026-01-20")},
			per("2026-10-01", "2026-11-01"), "2026-12-07", "2026-12-07", per("2026-11-01", "2026-12-01")},
		{"never invoiced: the anchor's period", AccountType{Name: "x", BillingMode: BillingAnniversary}, Account{AnchorDate: mustDate("2027-02-10")},
			Period{}, "2026-12-07", "2027-02-10", per("2027-02-10", "2027-03-10")},
		{"the date rule moves the issue date off a Saturday", AccountType{Name: "x", BillingMode: BillingFixedDay, BillingDay: 1, DelinquencyWeekdays: weekdaysOnly, ApplyDateRuleToIssue: true},
			Account{AnchorDate: mustDate("2026-01-20")}, per("2026-07-01", "2026-08-01"), "2026-07-15", "2026-08-03", per("2026-08-01", "2026-09-01")},
		{"a closed account is not billed", fixed, Account{AnchorDate: mustDate("2026-01-20"), Status: AccountClosed},
			per("2026-12-01", "2027-01-01"), "2026-12-07", "", Period{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.typ.Validate(); err != nil {
				t.Fatal(err)
			}
			d, p, ok := NextInvoiceDate(tc.typ, mustRule(t, tc.typ), tc.acct, tc.last, mustDate(tc.today))
			if tc.want == "" {
				if ok {
					t.Fatalf("NextInvoiceDate = %s (%s), want none", d, p)
				}
				return
			}
			if !ok || d != mustDate(tc.want) || p != tc.wantPeriod {
				t.Fatalf("NextInvoiceDate = %s, %s, %v; want %s, %s", d, p, ok, tc.want, tc.wantPeriod)
			}
		})
	}
}
