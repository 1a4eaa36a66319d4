package billing

import (
	"cmp"
	"slices"
)

// Credit notes. An invoice whose credits exceed its charges (a plan change,
// cancel or pause that credited more than its period charged; a close's
// final invoice) has a negative total: it is a credit note. Its credit is
// applied to the account's open invoices like a payment's, as allocation
// events with no payment (credit note → invoice): the invoice's paid
// total grows, the credit note's paid total goes below zero by what it
// gave (what it has left is −(total − paid)), and each is paid (closed)
// when its paid total reaches its total. No journal entry: the account's
// receivable does not change, only which invoice the credit paid (as with
// a reallocation). Until it is applied, a credit note's credit counts in
// [Standing.Credit] like any other credit; once applied it is the
// invoice's paid total and no longer credit, so nothing counts twice.
//
// A close's final credit note may also take over what a payment paid on
// an invoice ([PlanCreditNoteTakeover]): the payment's allocation there
// goes down and the credit note's goes up by the same amount (the invoice
// stays paid), so the payment's freed money can be refunded when staff
// close with refund_credit.

// CreditNote is an open credit note with credit left: Credit (> 0) is
// −(total − paid). InvoiceID 0 names the final invoice a close is about to
// issue (the store knows its id once it has written it).
type CreditNote struct {
	InvoiceID int64
	Number    string
	Credit    int64
}

// CreditNoteAllocation applies Amount (> 0) of credit note CreditNoteID's
// credit to invoice InvoiceID: an allocation event with no payment.
type CreditNoteAllocation struct {
	CreditNoteID     int64  `json:"credit_note_id"`
	CreditNoteNumber string `json:"credit_note_number"`
	InvoiceID        int64  `json:"invoice_id"`
	InvoiceNumber    string `json:"invoice_number"`
	Amount           int64  `json:"amount"`
}

// PlanCreditNoteAllocations matches one account's credit notes to its open
// invoices: the notes in the order given (oldest first) to the invoices in
// the order given (oldest due first), as [PlanAllocations] matches
// payments. It returns the allocations, the invoices they pay in full and
// the credit notes they use up. No note gives more than its Credit and no
// invoice takes more than its Amount; items of amount ≤ 0 take no part.
// Neither slice is modified.
func PlanCreditNoteAllocations(notes []CreditNote, invoices []OpenInvoice) (out []CreditNoteAllocation, paid, used []int64) {
	ns := make([]CreditNote, 0, len(notes))
	for _, n := range notes {
		if n.Credit > 0 {
			ns = append(ns, n)
		}
	}
	ni := 0
	for _, inv := range invoices {
		if ni == len(ns) {
			break
		}
		if inv.Amount <= 0 {
			continue
		}
		need := inv.Amount
		for need > 0 && ni < len(ns) {
			take := min(need, ns[ni].Credit)
			out = append(out, CreditNoteAllocation{CreditNoteID: ns[ni].InvoiceID, CreditNoteNumber: ns[ni].Number,
				InvoiceID: inv.InvoiceID, InvoiceNumber: inv.Number, Amount: take})
			need -= take
			if ns[ni].Credit -= take; ns[ni].Credit == 0 {
				used = append(used, ns[ni].InvoiceID)
				ni++
			}
		}
		if need == 0 {
			paid = append(paid, inv.InvoiceID)
		}
	}
	return out, paid, used
}

// HeldAllocation is what a posted payment has paid on one of its
// account's invoices (its running total there), with what a refund of
// it needs: the payment's method and whether it came through a gateway.
type HeldAllocation struct {
	PaymentID     int64
	InvoiceID     int64
	InvoiceNumber string
	Amount        int64
	Method        PaymentMethod
	Gateway       bool
}

// CreditNoteTakeover is what [PlanCreditNoteTakeover] decides: Applied
// are the credit notes' allocation events (+amount on an invoice), Released
// the payments' (−amount on the same invoice: the payment's money there is
// freed), pair by pair; Freed is what each payment has freed, by payment
// id. The invoices' paid totals do not change.
type CreditNoteTakeover struct {
	Applied  []CreditNoteAllocation
	Released []PlannedAllocation
	Freed    map[int64]int64
}

// PlanCreditNoteTakeover lets credit notes take over up to want (minor
// units) of what payments paid on invoices: the newest invoice first (the
// days a close credits are the latest invoiced), on an invoice the newest
// payment first; the notes in the order given. Nothing is taken over
// without a note with credit, a held allocation, or want > 0. Neither
// slice is modified.
func PlanCreditNoteTakeover(notes []CreditNote, held []HeldAllocation, want int64) CreditNoteTakeover {
	t := CreditNoteTakeover{Freed: map[int64]int64{}}
	hs := slices.Clone(held)
	slices.SortStableFunc(hs, func(x, y HeldAllocation) int {
		return cmp.Or(cmp.Compare(y.InvoiceID, x.InvoiceID), cmp.Compare(y.PaymentID, x.PaymentID))
	})
	ns := slices.Clone(notes)
	ni := 0
	for _, h := range hs {
		for h.Amount > 0 && want > 0 {
			for ni < len(ns) && ns[ni].Credit <= 0 {
				ni++
			}
			if ni == len(ns) {
				return t
			}
			take := min(h.Amount, ns[ni].Credit, want)
			t.Applied = append(t.Applied, CreditNoteAllocation{CreditNoteID: ns[ni].InvoiceID, CreditNoteNumber: ns[ni].Number,
				InvoiceID: h.InvoiceID, InvoiceNumber: h.InvoiceNumber, Amount: take})
			t.Released = append(t.Released, PlannedAllocation{PaymentID: h.PaymentID,
				Allocation: Allocation{InvoiceID: h.InvoiceID, InvoiceNumber: h.InvoiceNumber, Amount: -take}})
			t.Freed[h.PaymentID] += take
			h.Amount -= take
			ns[ni].Credit -= take
			want -= take
		}
		if want <= 0 {
			break
		}
	}
	return t
}
