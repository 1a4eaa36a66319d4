package billing

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPlanChosenAllocations(t *testing.T) {
	credits := []OpenCredit{{PaymentID: 3, Amount: 200}, {PaymentID: 7, Amount: 1000}}
	invoices := []OpenInvoice{{1, "INV-1", 400}, {2, "INV-2", 600}, {5, "INV-5", 300}}
	pa := func(p, inv int64, num string, amt int64) PlannedAllocation {
		return PlannedAllocation{PaymentID: p, Allocation: Allocation{InvoiceID: inv, InvoiceNumber: num, Amount: amt}}
	}
	for _, tc := range []struct {
		name    string
		chosen  []ChosenPayment
		want    []PlannedAllocation
		paid    []int64
		errWant string
	}{
		{name: "no choice is oldest first",
			want: []PlannedAllocation{pa(3, 1, "INV-1", 200), pa(7, 1, "INV-1", 200), pa(7, 2, "INV-2", 600), pa(7, 5, "INV-5", 200)},
			paid: []int64{1, 2}},
		{name: "chosen first, the rest oldest first",
			chosen: []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"INV-5", 300}, {"2", 100}}}},
			want: []PlannedAllocation{pa(7, 5, "INV-5", 300), pa(7, 2, "INV-2", 100),
				pa(3, 1, "INV-1", 200), pa(7, 1, "INV-1", 200), pa(7, 2, "INV-2", 400)},
			paid: []int64{5, 1}},
		{name: "the whole payment chosen",
			chosen: []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"INV-2", 600}, {"INV-1", 400}}}},
			want:   []PlannedAllocation{pa(7, 2, "INV-2", 600), pa(7, 1, "INV-1", 400), pa(3, 5, "INV-5", 200)},
			paid:   []int64{2, 1}},
		{name: "an invoice not open on the account",
			chosen:  []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"INV-9", 10}}}},
			errWant: "apply_to[0].invoice"},
		{name: "more than is due",
			chosen:  []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"INV-5", 301}}}},
			errWant: "apply_to[0].amount"},
		{name: "more than is due after an earlier choice",
			chosen:  []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"INV-5", 200}, {"INV-5", 101}}}},
			errWant: "apply_to[1].amount"},
		{name: "more than the payment",
			chosen:  []ChosenPayment{{PaymentID: 3, Field: "lines[2].apply_to", ApplyTo: []AllocationChoice{{"INV-1", 150}, {"INV-2", 51}}}},
			errWant: "lines[2].apply_to[1].amount"},
		{name: "no amount",
			chosen:  []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"INV-1", 0}}}},
			errWant: "apply_to[0].amount"},
		{name: "no invoice",
			chosen:  []ChosenPayment{{PaymentID: 7, Field: "apply_to", ApplyTo: []AllocationChoice{{"", 5}}}},
			errWant: "apply_to[0].invoice"},
		{name: "best effort: a closed invoice passed over, amounts cut to what is due and what is left",
			chosen: []ChosenPayment{{PaymentID: 3, Field: "apply_to", BestEffort: true,
				ApplyTo: []AllocationChoice{{"INV-9", 100}, {"INV-5", 150}, {"INV-5", 500}, {"INV-1", 100}}}},
			want: []PlannedAllocation{pa(3, 5, "INV-5", 150), pa(3, 5, "INV-5", 50),
				pa(7, 1, "INV-1", 400), pa(7, 2, "INV-2", 600)},
			paid: []int64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, paid, err := PlanChosenAllocations(credits, invoices, tc.chosen)
			if tc.errWant != "" {
				if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.errWant) || got != nil {
					t.Fatalf("err %v (plan %v), want EINVALID naming %s", err, got, tc.errWant)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) || !slices.Equal(paid, tc.paid) {
				t.Fatalf("got %v paid %v err %v\nwant %v paid %v", got, paid, err, tc.want, tc.paid)
			}
			// Nothing is lost: no credit gives more than it has, no invoice
			// takes more than is due.
			given, taken := map[int64]int64{}, map[int64]int64{}
			for _, a := range got {
				given[a.PaymentID] += a.Amount
				taken[a.InvoiceID] += a.Amount
			}
			for _, c := range credits {
				if given[c.PaymentID] > c.Amount {
					t.Errorf("payment %d gives %d of %d", c.PaymentID, given[c.PaymentID], c.Amount)
				}
			}
			for _, inv := range invoices {
				if taken[inv.InvoiceID] > inv.Amount {
					t.Errorf("invoice %d takes %d of %d", inv.InvoiceID, taken[inv.InvoiceID], inv.Amount)
				}
			}
		})
	}
	if credits[1].Amount != 1000 || invoices[2].Amount != 300 {
		t.Fatal("inputs modified")
	}
}

func TestNewPaymentChecksApplyTo(t *testing.T) {
	p := NewPayment{Method: PayCash, Amount: 100, ApplyTo: []AllocationChoice{{"INV-1", 60}, {"INV-2", 41}}}
	if err := p.Validate(); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "apply_to[1].amount") {
		t.Fatalf("chosen amounts beyond the payment: %v", err)
	}
	p.ApplyTo[1].Amount = 40
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPlanReallocation(t *testing.T) {
	payment := Payment{ID: 9, Status: PaymentPosted, Amount: 1000,
		Allocations: []Allocation{{InvoiceID: 1, InvoiceNumber: "INV-1", Amount: 600}, {InvoiceID: 2, InvoiceNumber: "INV-2", Amount: 400}}}
	invoices := []InvoiceDue{
		{1, "INV-1", InvoicePaid, 0}, {2, "INV-2", InvoiceOpen, 100}, {3, "INV-3", InvoiceOpen, 500},
		{4, "INV-4", InvoiceVoid, 0}, {5, "INV-5", InvoicePaid, 0},
	}
	for _, tc := range []struct {
		name     string
		move     Reallocation
		status   PaymentStatus
		paid     []int64
		reopened []int64
		errCode  Code
		errWant  string
	}{
		{name: "part of a paid invoice to an open one", move: Reallocation{"INV-1", "INV-3", 200}, reopened: []int64{1}},
		{name: "pays the open invoice in full", move: Reallocation{"INV-1", "3", 500}, paid: []int64{3}, reopened: []int64{1}},
		{name: "from an open invoice to another", move: Reallocation{"INV-2", "INV-3", 400}},
		{name: "to the other open invoice's rest", move: Reallocation{"1", "INV-2", 100}, paid: []int64{2}, reopened: []int64{1}},
		{name: "from an invoice it did not pay", move: Reallocation{"INV-5", "INV-3", 10}, errCode: EINVALID, errWant: "from_invoice"},
		{name: "from an unknown invoice", move: Reallocation{"INV-77", "INV-3", 10}, errCode: EINVALID, errWant: "from_invoice"},
		{name: "to a paid invoice", move: Reallocation{"INV-2", "INV-5", 10}, errCode: EINVALID, errWant: "to_invoice"},
		{name: "to a void invoice", move: Reallocation{"INV-2", "INV-4", 10}, errCode: EINVALID, errWant: "to_invoice"},
		{name: "to an unknown invoice", move: Reallocation{"INV-2", "", 10}, errCode: EINVALID, errWant: "to_invoice"},
		{name: "to itself", move: Reallocation{"INV-2", "INV-2", 10}, errCode: EINVALID, errWant: "to_invoice"},
		{name: "more than it gave", move: Reallocation{"INV-2", "INV-3", 401}, errCode: EINVALID, errWant: "amount 401 is more than the 400"},
		{name: "more than is due", move: Reallocation{"INV-1", "INV-2", 101}, errCode: EINVALID, errWant: "amount 101 is more than the 100 still due"},
		{name: "nothing", move: Reallocation{"INV-1", "INV-3", 0}, errCode: EINVALID, errWant: "amount"},
		{name: "a reversed payment", move: Reallocation{"INV-1", "INV-3", 10}, status: PaymentReversed, errCode: ECONFLICT, errWant: "reversed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := payment
			if tc.status != "" {
				p.Status = tc.status
			}
			plan, err := PlanReallocation(ReallocationInput{Payment: p, Invoices: invoices, Move: tc.move})
			if tc.errCode != "" {
				if ErrorCode(err) != tc.errCode || !strings.Contains(ErrorMessage(err), tc.errWant) {
					t.Fatalf("err %v, want %s naming %q", err, tc.errCode, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Nothing is lost: the two changes sum to zero, within one
			// payment, off one invoice and onto another.
			if len(plan.Changes) != 2 || plan.Changes[0].Amount != -tc.move.Amount || plan.Changes[1].Amount != tc.move.Amount ||
				plan.Changes[0].PaymentID != 9 || plan.Changes[1].PaymentID != 9 || plan.Changes[0].InvoiceID == plan.Changes[1].InvoiceID {
				t.Fatalf("changes %+v", plan.Changes)
			}
			if !slices.Equal(plan.Paid, tc.paid) || !slices.Equal(plan.Reopened, tc.reopened) {
				t.Fatalf("paid %v reopened %v, want %v %v", plan.Paid, plan.Reopened, tc.paid, tc.reopened)
			}
		})
	}
}

func TestCheckBatchChoices(t *testing.T) {
	b := PaymentBatch{Lines: []BatchLine{
		{LineNo: 1, AccountID: 7, Amount: 500, ApplyTo: []AllocationChoice{{"INV-2", 300}}},
		{LineNo: 2, AccountID: 7, Amount: 500, ApplyTo: []AllocationChoice{{"INV-2", 301}}}, // only 300 left after line 1
		{LineNo: 3, AccountID: 7, Amount: 500, ApplyTo: []AllocationChoice{{"INV-2", 300}}},
		{LineNo: 4, AccountID: 8, Amount: 500, ApplyTo: []AllocationChoice{{"INV-2", 10}}}, // another account's invoice
		{LineNo: 5, AccountID: 8, Amount: 500},
		{LineNo: 6, AccountID: 0, Amount: 500, ApplyTo: []AllocationChoice{{"INV-2", 10}}}, // unresolved: reported elsewhere
	}}
	open := map[int64][]OpenInvoice{7: {{1, "INV-1", 100}, {2, "INV-2", 600}}, 8: {{3, "INV-3", 100}}}
	v := CheckBatchChoices(BatchValidation{Errors: []BatchProblem{}}, b, open)
	var lines []string
	for _, p := range v.Errors {
		lines = append(lines, strconv.Itoa(p.LineNo)+" "+p.Field+": "+p.Message)
	}
	want := []string{
		"2 apply_to: apply_to[0].amount 301 is more than the 300 still due on INV-2",
		`4 apply_to: apply_to[0].invoice "INV-2" is not an open invoice of the payment's account`,
	}
	if v.OK || !slices.Equal(lines, want) {
		t.Fatalf("problems\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
