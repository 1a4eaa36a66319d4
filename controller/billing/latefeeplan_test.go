package billing

import (
	"testing"
	"time"
)

// TestPlanLateFees: no cutoff without a late fee; the cutoff is the fee's
// days before the date; each invoice gets its fee on its total, naming
// it, and an invoice whose fee comes to nothing gets none.
func TestPlanLateFees(t *testing.T) {
	date, now := mustDate("2026-12-20"), time.Date(2026, 12, 20, 6, 0, 0, 0, time.UTC)
	if _, ok := LateFeeCutoff(AccountType{}, date); ok {
		t.Error("a type without a late fee has a cutoff")
	}
	typ := AccountType{LateFee: LateFee{Kind: LateFeePercent, Percent: "1.5", AfterDays: 5}}
	if cut, ok := LateFeeCutoff(typ, date); !ok || cut != mustDate("2026-12-15") {
		t.Errorf("cutoff %s %v, want 2026-12-15", cut, ok)
	}
	fees := PlanLateFees(typ, date, now, []LateFeeInvoice{
		{ID: 1, AccountID: 7, Number: "INV-1", Currency: "USD", Total: 5000},
		{ID: 2, AccountID: 8, Number: "INV-2", Currency: "USD", Total: 10}, // 1.5% of 0.10 rounds to nothing
		{ID: 3, AccountID: 9, Number: "INV-3", Currency: "USD", Total: 3333},
	})
	want := map[int64]int64{1: 75, 3: 50}
	if len(fees) != 2 {
		t.Fatalf("fees %+v", fees)
	}
	for _, f := range fees {
		if f.Validate() != nil || f.Kind != TxFee || f.InvoiceID == nil || ReceivableBalance([]JournalTx{f}) != want[*f.InvoiceID] ||
			f.EffectiveDate != date || !f.PostedAt.Equal(now) {
			t.Errorf("fee %+v", f)
		}
	}
}
