package reports

import (
	gotime "time"

	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func d(y, m, day int) billing.Date { return billing.NewDate(y, gotime.Month(m), day) }

func TestAgingBucketsByDaysPastDue(t *testing.T) {
	asOf := d(2026, 6, 30)
	for _, c := range []struct {
		due  billing.Date
		want Buckets
	}{
		{d(2026, 7, 14), Buckets{Current: 100, Total: 100}},
		{d(2026, 6, 30), Buckets{Current: 100, Total: 100}}, // due today: not yet past due
		{d(2026, 6, 29), Buckets{Days1To30: 100, Total: 100}},
		{d(2026, 5, 31), Buckets{Days1To30: 100, Total: 100}}, // 30 days
		{d(2026, 5, 30), Buckets{Days31To60: 100, Total: 100}},
		{d(2026, 5, 1), Buckets{Days31To60: 100, Total: 100}}, // 60 days
		{d(2026, 4, 30), Buckets{Days61To90: 100, Total: 100}},
		{d(2026, 4, 1), Buckets{Days61To90: 100, Total: 100}}, // 90 days
		{d(2026, 3, 31), Buckets{Over90: 100, Total: 100}},
	} {
		r := Aging(asOf, []AgingAccount{{AccountID: 1, Currency: "USD", Balance: 100}}, []AgingInvoice{{AccountID: 1, DueDate: c.due, Open: 100}}, true)
		if len(r.Rows) != 1 || r.Rows[0].Buckets != c.want {
			t.Errorf("due %s: %+v, want %+v", c.due, r.Rows, c.want)
		}
	}
}

func TestAgingUnappliedCreditAndGroups(t *testing.T) {
	asOf := d(2026, 6, 30)
	accounts := []AgingAccount{
		{AccountID: 1, Number: "A-1", AccountType: "residential", POP: "north", Currency: "USD", Balance: 7000},
		{AccountID: 2, Number: "A-2", AccountType: "residential", POP: "south", Currency: "USD", Balance: -2500}, // credit only
		{AccountID: 3, Number: "A-3", AccountType: "commercial", POP: "north", Currency: "USD", Balance: 0},      // nothing: left out
		{AccountID: 4, Number: "A-4", AccountType: "commercial", POP: "north", Currency: "USD", Balance: 1000},
	}
	invoices := []AgingInvoice{
		{AccountID: 1, DueDate: d(2026, 7, 10), Open: 5000}, // current
		{AccountID: 1, DueDate: d(2026, 6, 10), Open: 3000}, // 20 days
		{AccountID: 4, DueDate: d(2026, 2, 1), Open: 1000},  // 149 days
		{AccountID: 9, DueDate: d(2026, 2, 1), Open: 999},   // no such account: ignored
	}
	r := Aging(asOf, accounts, invoices, true)
	if len(r.Rows) != 3 {
		t.Fatalf("rows %+v", r.Rows)
	}
	// Account 1 owes 7000 on 8000 of open invoices: 1000 unapplied credit.
	if want := (Buckets{Current: 5000, Days1To30: 3000, Unapplied: -1000, Total: 7000}); r.Rows[0].Buckets != want {
		t.Errorf("account 1 %+v, want %+v", r.Rows[0].Buckets, want)
	}
	if want := (Buckets{Unapplied: -2500, Total: -2500}); r.Rows[1].Buckets != want {
		t.Errorf("account 2 %+v, want %+v", r.Rows[1].Buckets, want)
	}
	if want := (AgingGroup{Currency: "USD", Accounts: 3, Buckets: Buckets{Current: 5000, Days1To30: 3000, Over90: 1000, Unapplied: -3500, Total: 5500}}); len(r.Totals) != 1 || r.Totals[0] != want {
		t.Errorf("totals %+v, want %+v", r.Totals, want)
	}
	if len(r.ByType) != 2 || r.ByType[0].Key != "commercial" || r.ByType[0].Total != 1000 || r.ByType[1].Total != 4500 {
		t.Errorf("by type %+v", r.ByType)
	}
	if len(r.ByPOP) != 2 || r.ByPOP[0].Key != "north" || r.ByPOP[0].Accounts != 2 || r.ByPOP[0].Total != 8000 || r.ByPOP[1].Total != -2500 {
		t.Errorf("by POP %+v", r.ByPOP)
	}
	if r.Totals[0].PastDue() != 4000 {
		t.Errorf("past due %d", r.Totals[0].PastDue())
	}
	if totalsOnly := Aging(asOf, accounts, invoices, false); len(totalsOnly.Rows) != 0 || totalsOnly.Totals[0] != r.Totals[0] {
		t.Errorf("totals only: %+v", totalsOnly)
	}
}

func TestAccountsMissingAndMerge(t *testing.T) {
	accounts := []AgingAccount{{AccountID: 2}, {AccountID: 5}}
	invoices := []AgingInvoice{{AccountID: 1}, {AccountID: 1}, {AccountID: 2}, {AccountID: 4}, {AccountID: 7}}
	missing := AccountsMissing(accounts, invoices)
	if len(missing) != 3 || missing[0] != 1 || missing[1] != 4 || missing[2] != 7 {
		t.Fatalf("missing %v", missing)
	}
	merged := MergeAccounts(accounts, []AgingAccount{{AccountID: 1}, {AccountID: 4}, {AccountID: 7}})
	for i, id := range []int64{1, 2, 4, 5, 7} {
		if merged[i].AccountID != id {
			t.Fatalf("merged %+v", merged)
		}
	}
}
