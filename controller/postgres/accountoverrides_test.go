package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestOverridesReachTheSweepLateFeesAndStanding: of two accounts of one
// type, the one with its own grace days (30) and late fees off stays past
// due and is charged no late fee while the other is suspended and charged;
// its standing says the setting is its own; the preview of a type change
// counts one account inheriting grace_days and one overriding it.
func TestOverridesReachTheSweepLateFeesAndStanding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	typ := residential()
	typ.LateFee = billing.LateFee{Kind: billing.LateFeeFlat, Amount: 500}
	c := newCollections(t, typ)
	own, _ := c.account("pop-1")
	inherits, _ := c.account("pop-1")
	grace, off := 30, false
	plan, err := c.db.EditAccount(ctx, own, 1, billing.AccountEdit{Overrides: &billing.AccountOverrides{GraceDays: &grace, LateFee: &off}}, "test", t0)
	if err != nil || !plan.Changed {
		t.Fatalf("edit: %v %+v", err, plan)
	}
	c.owe(own, billing.NewDate(2026, 12, 4), 50000)
	c.owe(inherits, billing.NewDate(2026, 12, 4), 50000)

	c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(inherits, billing.AccountSuspended, "7 days' grace (the type's)")
	c.want(own, billing.AccountPastDue, "30 days' grace (its own)")
	st, err := c.db.AccountStanding(ctx, own, local(12, 14, 7))
	if err != nil || len(st.Overrides) != 2 || !strings.Contains(strings.Join(st.Why, " "), "to Mon 2027-01-04: Sunday is not an allowed weekday (this account's own setting, not its type's).") {
		t.Errorf("standing why %q (%v)", st.Why, err)
	}

	n, err := c.db.ChargeLateFees(ctx, c.typ.ID, billing.NewDate(2026, 12, 14), local(12, 14, 6))
	if err != nil || n != 1 {
		t.Fatalf("late fees: %d %v, want 1", n, err)
	}
	var charged int64
	if err := c.db.Pool.QueryRow(ctx, `SELECT account_id FROM journal_transactions WHERE kind = 'fee' AND memo LIKE 'late fee%'`).Scan(&charged); err != nil || charged != inherits {
		t.Errorf("late fee charged to account %d (%v), want %d", charged, err, inherits)
	}

	total, overriding, err := c.db.AccountTypeOverrideCounts(ctx, c.typ.ID)
	if err != nil || total != 2 || overriding["grace_days"] != 1 || overriding["late_fee"] != 1 || overriding["due_days"] != 0 {
		t.Errorf("counts %d %v (%v)", total, overriding, err)
	}
	if _, _, err := c.db.AccountTypeOverrideCounts(ctx, 999); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown type: %v", err)
	}

	// Inheriting again: the next sweep applies the type's grace.
	a, err := c.db.Account(ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.EditAccount(ctx, own, a.Version, billing.AccountEdit{Overrides: &billing.AccountOverrides{}}, "test", t0); err != nil {
		t.Fatal(err)
	}
	c.sweep(local(12, 15, 6), billing.SuspensionGuard{})
	c.want(own, billing.AccountSuspended, "after the override is removed")
}

// TestImportStoresCompanyNameAndQuantity: the import's company_name and
// quantity columns reach the account and the service.
func TestImportStoresCompanyNameAndQuantity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	out, err := c.db.ImportAccountsCSV(ctx, strings.NewReader("external_id,name,account_type,currency,company_name,service_name,pop,quantity\n"+
		"x1,Ann,residential,USD,Roe LLC,line 1,pop-1,4\n"), false, false, t0)
	if err != nil || out.Refused || out.Result.ServicesCreated != 1 {
		t.Fatalf("import: %+v %v", out, err)
	}
	var company string
	var quantity int64
	if err := c.db.Pool.QueryRow(ctx, `SELECT a.company_name, s.quantity FROM accounts a JOIN services s ON s.account_id = a.id
		WHERE a.external_id = 'x1'`).Scan(&company, &quantity); err != nil || company != "Roe LLC" || quantity != 4 {
		t.Errorf("stored company %q quantity %d (%v)", company, quantity, err)
	}
}
