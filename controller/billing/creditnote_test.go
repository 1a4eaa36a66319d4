package billing

import (
	"reflect"
	"testing"
)

func TestPlanCreditNoteAllocations(t *testing.T) {
	note := func(id, credit int64) CreditNote { return CreditNote{InvoiceID: id, Number: "CN", Credit: credit} }
	open := func(id, amount int64) OpenInvoice { return OpenInvoice{InvoiceID: id, Number: "INV", Amount: amount} }
	alloc := func(n, inv, amount int64) CreditNoteAllocation {
		return CreditNoteAllocation{CreditNoteID: n, CreditNoteNumber: "CN", InvoiceID: inv, InvoiceNumber: "INV", Amount: amount}
	}
	cases := []struct {
		name     string
		notes    []CreditNote
		invoices []OpenInvoice
		want     []CreditNoteAllocation
		paid     []int64
		used     []int64
	}{
		{"none", nil, []OpenInvoice{open(1, 500)}, nil, nil, nil},
		{"no invoice", []CreditNote{note(9, 500)}, nil, nil, nil, nil},
		{"a note pays an invoice in full", []CreditNote{note(9, 800)}, []OpenInvoice{open(1, 500)},
			[]CreditNoteAllocation{alloc(9, 1, 500)}, []int64{1}, nil},
		{"exactly: both closed", []CreditNote{note(9, 500)}, []OpenInvoice{open(1, 500)},
			[]CreditNoteAllocation{alloc(9, 1, 500)}, []int64{1}, []int64{9}},
		{"oldest invoice first, part of the next", []CreditNote{note(9, 700)}, []OpenInvoice{open(1, 500), open(2, 500)},
			[]CreditNoteAllocation{alloc(9, 1, 500), alloc(9, 2, 200)}, []int64{1}, []int64{9}},
		{"two notes on one invoice", []CreditNote{note(8, 300), note(9, 300)}, []OpenInvoice{open(1, 500)},
			[]CreditNoteAllocation{alloc(8, 1, 300), alloc(9, 1, 200)}, []int64{1}, []int64{8}},
		{"nothing from empty notes or to nothing owed", []CreditNote{note(8, 0), note(9, 300)}, []OpenInvoice{open(1, 0), open(2, 100)},
			[]CreditNoteAllocation{alloc(9, 2, 100)}, []int64{2}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			notes, invoices := append([]CreditNote(nil), tc.notes...), append([]OpenInvoice(nil), tc.invoices...)
			got, paid, used := PlanCreditNoteAllocations(notes, invoices)
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(paid, tc.paid) || !reflect.DeepEqual(used, tc.used) {
				t.Fatalf("got %+v paid %v used %v; want %+v %v %v", got, paid, used, tc.want, tc.paid, tc.used)
			}
			if !reflect.DeepEqual(notes, tc.notes) || !reflect.DeepEqual(invoices, tc.invoices) {
				t.Fatal("the inputs were modified")
			}
		})
	}
}

func TestPlanCreditNoteTakeover(t *testing.T) {
	held := func(pay, inv, amount int64) HeldAllocation {
		return HeldAllocation{PaymentID: pay, InvoiceID: inv, InvoiceNumber: "INV", Amount: amount, Method: PayCash}
	}
	cases := []struct {
		name  string
		notes []CreditNote
		held  []HeldAllocation
		want  int64
		// taken: (payment, invoice, amount) in order
		taken [][3]int64
	}{
		{"nothing wanted", []CreditNote{{InvoiceID: 9, Credit: 500}}, []HeldAllocation{held(1, 5, 500)}, 0, nil},
		{"no note", nil, []HeldAllocation{held(1, 5, 500)}, 500, nil},
		{"no payment held", []CreditNote{{InvoiceID: 9, Credit: 500}}, nil, 500, nil},
		{"limited by want", []CreditNote{{InvoiceID: 9, Credit: 500}}, []HeldAllocation{held(1, 5, 500)}, 300, [][3]int64{{1, 5, 300}}},
		{"limited by the note", []CreditNote{{InvoiceID: 9, Credit: 200}}, []HeldAllocation{held(1, 5, 500)}, 300, [][3]int64{{1, 5, 200}}},
		{"newest invoice first, newest payment first", []CreditNote{{InvoiceID: 9, Credit: 1000}},
			[]HeldAllocation{held(1, 4, 500), held(1, 5, 200), held(2, 5, 100)}, 600,
			[][3]int64{{2, 5, 100}, {1, 5, 200}, {1, 4, 300}}},
		{"two notes", []CreditNote{{InvoiceID: 8, Credit: 100}, {InvoiceID: 0, Number: "final", Credit: 400}},
			[]HeldAllocation{held(1, 5, 500)}, 500, [][3]int64{{1, 5, 100}, {1, 5, 400}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := PlanCreditNoteTakeover(tc.notes, tc.held, tc.want)
			if len(tk.Applied) != len(tc.taken) || len(tk.Released) != len(tc.taken) {
				t.Fatalf("applied %+v released %+v; want %v", tk.Applied, tk.Released, tc.taken)
			}
			freed := map[int64]int64{}
			var sum int64
			for i, w := range tc.taken {
				a, r := tk.Applied[i], tk.Released[i]
				if r.PaymentID != w[0] || r.InvoiceID != w[1] || r.Amount != -w[2] || a.InvoiceID != w[1] || a.Amount != w[2] {
					t.Fatalf("pair %d: applied %+v released %+v; want %v", i, a, r, w)
				}
				freed[w[0]] += w[2]
				sum += w[2]
			}
			if sum > tc.want || len(freed) != len(tk.Freed) {
				t.Fatalf("freed %v; want %v (at most %d)", tk.Freed, freed, tc.want)
			}
			for id, v := range freed {
				if tk.Freed[id] != v {
					t.Fatalf("freed %v; want %v", tk.Freed, freed)
				}
			}
		})
	}
}
