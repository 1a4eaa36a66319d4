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
