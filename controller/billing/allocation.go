package billing

// OpenCredit is the part of a posted payment not yet allocated to an
// invoice nor refunded: Amount (> 0) of payment PaymentID.
type OpenCredit struct {
	PaymentID int64
	Amount    int64
}

// OpenInvoice is what is still owed on an open invoice: Amount (> 0).
type OpenInvoice struct {
	InvoiceID int64
	Number    string
	Amount    int64
}

// PlannedAllocation applies Amount of payment PaymentID to an invoice.
type PlannedAllocation struct {
	PaymentID int64
	Allocation
}

// PlanAllocations matches one account's open credits to its open invoices:
// the oldest credit (smallest payment id) to the oldest invoice first, in
// the order the invoices are given (oldest due first). It returns the
// allocations and the invoices they pay in full. No credit gives more than
// its Amount and no invoice takes more than its Amount; items of amount ≤ 0
// take no part. Credits need not be sorted; neither slice is modified.
func PlanAllocations(credits []OpenCredit, invoices []OpenInvoice) (out []PlannedAllocation, paid []int64) {
	cs := make([]OpenCredit, 0, len(credits))
	for _, c := range credits {
		if c.Amount > 0 {
			cs = append(cs, c)
		}
	}
	for i := 1; i < len(cs); i++ { // insertion sort by payment id: few credits
		for k := i; k > 0 && cs[k].PaymentID < cs[k-1].PaymentID; k-- {
			cs[k], cs[k-1] = cs[k-1], cs[k]
		}
	}
	ci := 0
	for _, inv := range invoices {
		if inv.Amount <= 0 {
			continue
		}
		need := inv.Amount
		for need > 0 && ci < len(cs) {
			take := min(need, cs[ci].Amount)
			out = append(out, PlannedAllocation{PaymentID: cs[ci].PaymentID, Allocation: Allocation{InvoiceID: inv.InvoiceID, InvoiceNumber: inv.Number, Amount: take}})
			need -= take
			if cs[ci].Amount -= take; cs[ci].Amount == 0 {
				ci++
			}
		}
		if need == 0 {
			paid = append(paid, inv.InvoiceID)
		}
		if ci == len(cs) {
			break
		}
	}
	return out, paid
}
