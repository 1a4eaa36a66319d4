package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestAccountNumbersPastAMillion: the account numbers grow past six digits
// (A-999999, then A-1000000) instead of being cut to six and repeating.
func TestAccountNumbersPastAMillion(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	typ, err := db.CreateAccountType(ctx, residential(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `SELECT setval('account_number_seq', 999998)`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"A-999999", "A-1000000"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Big ISP subscriber", AccountTypeID: typ.ID, Currency: "USD"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if a.Number != want {
			t.Errorf("account number %q, want %q", a.Number, want)
		}
	}
}
