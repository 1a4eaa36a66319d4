package billing

import (
	"slices"
	"testing"
)

// TestBatchTally: totals by method (check, cash, money order, wire, other)
// and currency, then "all" per currency; a line whose account is not found
// takes the currency most lines are in.
func TestBatchTally(t *testing.T) {
	b := PaymentBatch{Lines: []BatchLine{
		{Method: PayCash, Amount: 2500, Currency: "USD"},
		{Method: PayCheck, Amount: 5000, Currency: "USD"},
		{Method: PayCheck, Amount: 700, Currency: "CAD"},
		{Method: PayCheck, Amount: 2000},
		{Method: PayWire, Amount: 100, Currency: "USD"},
	}}
	b.Tally()
	want := []BatchTotal{
		{"check", "CAD", 1, 700}, {"check", "USD", 2, 7000}, {"cash", "USD", 1, 2500}, {"wire", "USD", 1, 100},
		{"all", "CAD", 1, 700}, {"all", "USD", 4, 9600},
	}
	if !slices.Equal(b.Totals, want) || b.Count != 5 || b.Total != 10300 || b.Lines[3].Currency != "USD" {
		t.Errorf("Tally: count %d total %d, line 4 in %q, totals\n%v\nwant\n%v", b.Count, b.Total, b.Lines[3].Currency, b.Totals, want)
	}
	empty := PaymentBatch{Totals: want, Count: 3}
	empty.Tally()
	if empty.Totals != nil || empty.Count != 0 {
		t.Errorf("an empty batch: %+v", empty)
	}
}
