package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The standing's next invoice date is the day the billing run next
// invoices the account: a run the day before invoices nothing new, a run
// on the day does.
func TestStandingNextInvoiceDate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10) // December's and January's invoices
	a := accounts[0]
	st, err := db.AccountStanding(ctx, a.ID, time.Date(2027, 1, 10, 18, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// February's period, issued the type's 5 lead days before it starts.
	if want := billing.NewDate(2027, 1, 27); st.NextInvoiceDate != want {
		t.Fatalf("next invoice date %s, want %s", st.NextInvoiceDate, want)
	}
	invoices := func() int {
		invs, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(invs)
	}
	before := invoices()
	runBilling(t, db, typ.ID, st.NextInvoiceDate.AddDays(-1), 10)
	if n := invoices(); n != before {
		t.Fatalf("a run the day before the next invoice date made %d invoices", n-before)
	}
	runBilling(t, db, typ.ID, st.NextInvoiceDate, 10)
	if n := invoices(); n != before+1 {
		t.Fatalf("the run on the next invoice date made %d invoices, want 1", n-before)
	}
	// Afterwards the date moves on to March's period.
	st, err = db.AccountStanding(ctx, a.ID, time.Date(2027, 1, 28, 18, 0, 0, 0, time.UTC))
	if err != nil || st.NextInvoiceDate != billing.NewDate(2027, 2, 24) {
		t.Fatalf("next invoice date after February's invoice: %s %v", st.NextInvoiceDate, err)
	}
}
