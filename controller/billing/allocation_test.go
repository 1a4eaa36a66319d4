package billing

import (
	"slices"
	"testing"
)

func TestPlanAllocations(t *testing.T) {
	credits := []OpenCredit{{PaymentID: 9, Amount: 300}, {PaymentID: 4, Amount: 500}, {PaymentID: 5, Amount: 0}}
	invoices := []OpenInvoice{{InvoiceID: 1, Number: "INV-1", Amount: 400}, {InvoiceID: 2, Number: "INV-2", Amount: 0}, {InvoiceID: 3, Number: "INV-3", Amount: 600}}
	out, paid := PlanAllocations(credits, invoices)
	want := []PlannedAllocation{
		{4, Allocation{1, "INV-1", 400}},
		{4, Allocation{3, "INV-3", 100}},
		{9, Allocation{3, "INV-3", 300}},
	}
	if !slices.Equal(out, want) {
		t.Errorf("allocations = %v, want %v", out, want)
	}
	if !slices.Equal(paid, []int64{1}) {
		t.Errorf("paid = %v, want [1]", paid)
	}
	if credits[0].Amount != 300 || credits[1].Amount != 500 {
		t.Errorf("credits modified: %v", credits)
	}
	if out, paid := PlanAllocations(nil, invoices); out != nil || paid != nil {
		t.Errorf("no credits: %v %v, want none", out, paid)
	}
	out, paid = PlanAllocations([]OpenCredit{{1, 1000}}, invoices)
	if len(out) != 2 || !slices.Equal(paid, []int64{1, 3}) {
		t.Errorf("enough credit: %v paid %v, want 2 allocations paying 1 and 3", out, paid)
	}
}

func TestSplitOverChosen(t *testing.T) {
	older := OpenInvoice{InvoiceID: 1, Number: "INV-1", Amount: 5000}
	newer := OpenInvoice{InvoiceID: 2, Number: "INV-2", Amount: 3000}
	paid := OpenInvoice{InvoiceID: 3, Number: "INV-3", Amount: 0}
	noNumber := OpenInvoice{InvoiceID: 4, Amount: 700}
	for _, tc := range []struct {
		name   string
		amount int64
		chosen []OpenInvoice
		want   []AllocationChoice
	}{
		{"nothing ticked", 5000, nil, []AllocationChoice{}},
		{"less than the first", 2000, []OpenInvoice{older, newer}, []AllocationChoice{{"INV-1", 2000}}},
		{"in the order shown, not oldest first", 4000, []OpenInvoice{newer, older}, []AllocationChoice{{"INV-2", 3000}, {"INV-1", 1000}}},
		{"exactly both", 8000, []OpenInvoice{older, newer}, []AllocationChoice{{"INV-1", 5000}, {"INV-2", 3000}}},
		{"more than both: the rest is left for oldest-first", 9000, []OpenInvoice{older, newer}, []AllocationChoice{{"INV-1", 5000}, {"INV-2", 3000}}},
		{"one owing nothing is passed over", 6000, []OpenInvoice{paid, older, newer}, []AllocationChoice{{"INV-1", 5000}, {"INV-2", 1000}}},
		{"named by id without a number", 500, []OpenInvoice{noNumber}, []AllocationChoice{{"4", 500}}},
		{"no amount", 0, []OpenInvoice{older}, []AllocationChoice{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitOverChosen(tc.amount, tc.chosen)
			if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
				t.Fatalf("SplitOverChosen(%d) = %v, want %v", tc.amount, got, tc.want)
			}
			var sum int64
			for _, c := range got {
				sum += c.Amount
			}
			if sum > tc.amount {
				t.Errorf("the choices add up to %d, more than the payment's %d", sum, tc.amount)
			}
			if err := CheckAllocationChoices("apply_to", tc.amount, got); err != nil {
				t.Errorf("the split is not a valid apply_to: %v", err)
			}
		})
	}
}
