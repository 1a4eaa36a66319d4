package billing

import "strconv"

// Reallocation moves Amount (minor units) of a posted payment's allocation
// from one invoice to another open invoice of the same account. The
// account's receivable does not change (no journal entry): only which
// invoices the money paid, recorded as two dated allocation events (−Amount
// on From, +Amount on To), never as an edit.
type Reallocation struct {
	From   string `json:"from_invoice" maxLength:"64" doc:"The invoice the payment paid (number or id) whose allocation is reduced."`
	To     string `json:"to_invoice" maxLength:"64" doc:"The open invoice (number or id) that receives the amount."`
	Amount int64  `json:"amount" minimum:"1" maximum:"100000000000" doc:"Minor units of the payment's currency."`
}

// InvoiceDue is an invoice as a reallocation sees it: its status and what
// is still due on it (total − paid).
type InvoiceDue struct {
	InvoiceID int64
	Number    string
	Status    InvoiceStatus
	Due       int64
}

// ReallocationInput is what [PlanReallocation] decides from: the payment
// with its allocations (running totals per invoice), the account's
// invoices that the request names (the store reads them by number or id
// within the payment's account, so another account's invoice is not among
// them), and the request.
type ReallocationInput struct {
	Payment  Payment
	Invoices []InvoiceDue
	Move     Reallocation
}

// ReallocationPlan is a reallocation to apply: Changes are the allocation
// events (the same payment, −amount on one invoice and +amount on the
// other; they sum to zero), Paid the invoices it pays in full and Reopened
// those it leaves owing again. The payment's allocated total is unchanged.
type ReallocationPlan struct {
	Changes  []PlannedAllocation
	Paid     []int64
	Reopened []int64
}

// PlanReallocation decides a reallocation. Errors, EINVALID naming the
// field: from_invoice not paid by this payment (or not of its account),
// to_invoice not an open invoice of the account or the same invoice, an
// amount not positive, more than the payment gave from_invoice or more
// than is due on to_invoice; ECONFLICT for a reversed payment.
func PlanReallocation(in ReallocationInput) (ReallocationPlan, error) {
	m := in.Move
	find := func(ref string) (InvoiceDue, bool) {
		for _, inv := range in.Invoices {
			if ref != "" && (ref == inv.Number || ref == strconv.FormatInt(inv.InvoiceID, 10)) {
				return inv, true
			}
		}
		return InvoiceDue{}, false
	}
	if in.Payment.Status != PaymentPosted {
		return ReallocationPlan{}, Errorf(ECONFLICT, "payment %d is %s; only a posted payment's allocation can move", in.Payment.ID, in.Payment.Status)
	}
	if m.Amount <= 0 || m.Amount > MaxAmount {
		return ReallocationPlan{}, Errorf(EINVALID, "amount %d must be positive and at most %d (minor units)", m.Amount, MaxAmount)
	}
	from, ok := find(m.From)
	given := int64(0)
	if ok {
		for _, a := range in.Payment.Allocations {
			if a.InvoiceID == from.InvoiceID {
				given += a.Amount
			}
		}
	}
	switch {
	case !ok || given == 0:
		return ReallocationPlan{}, Errorf(EINVALID, "from_invoice %q is not an invoice payment %d paid", m.From, in.Payment.ID)
	case from.Status == InvoiceVoid:
		return ReallocationPlan{}, Errorf(EINVALID, "from_invoice %s is void", from.Number)
	case m.Amount > given:
		return ReallocationPlan{}, Errorf(EINVALID, "amount %d is more than the %d payment %d gave %s", m.Amount, given, in.Payment.ID, from.Number)
	}
	to, ok := find(m.To)
	switch {
	case !ok || to.Status != InvoiceOpen || to.Due <= 0:
		return ReallocationPlan{}, Errorf(EINVALID, "to_invoice %q is not an open invoice of the payment's account", m.To)
	case to.InvoiceID == from.InvoiceID:
		return ReallocationPlan{}, Errorf(EINVALID, "to_invoice is from_invoice (%s): nothing would move", from.Number)
	case m.Amount > to.Due:
		return ReallocationPlan{}, Errorf(EINVALID, "amount %d is more than the %d still due on %s", m.Amount, to.Due, to.Number)
	}
	p := ReallocationPlan{Changes: []PlannedAllocation{
		{PaymentID: in.Payment.ID, Allocation: Allocation{InvoiceID: from.InvoiceID, InvoiceNumber: from.Number, Amount: -m.Amount}},
		{PaymentID: in.Payment.ID, Allocation: Allocation{InvoiceID: to.InvoiceID, InvoiceNumber: to.Number, Amount: m.Amount}},
	}}
	if from.Status == InvoicePaid {
		p.Reopened = []int64{from.InvoiceID}
	}
	if m.Amount == to.Due {
		p.Paid = []int64{to.InvoiceID}
	}
	return p, nil
}

// AllocationEventKind says what wrote an allocation event.
type AllocationEventKind string

// Allocation event kinds.
const (
	// AllocApplied: a payment or credit applied to an invoice (oldest
	// first, or as staff chose).
	AllocApplied AllocationEventKind = "applied"
	// AllocMoved: one side of a reallocation.
	AllocMoved AllocationEventKind = "reallocated"
	// AllocReversed: the payment was reversed; what it paid is owed again.
	AllocReversed AllocationEventKind = "reversed"
	// AllocTakenOver: a close's credit note took over what a payment
	// paid on an invoice (−amount on the payment's event, +amount on the
	// credit note's), freeing the payment's money for a refund.
	AllocTakenOver AllocationEventKind = "taken_over"
)

// AllocationEvent is one dated, append-only change of what a payment or
// a credit note ([CreditNoteAllocation]) paid on an invoice: Amount > 0
// applies money, < 0 takes it back. Exactly one of PaymentID and
// CreditNoteID is set. A payment's (or credit note's) allocation to an
// invoice is the sum of its events; as of a date, the sum of the events
// effective on or before it.
type AllocationEvent struct {
	ID        int64 `json:"id"`
	PaymentID int64 `json:"payment_id,omitempty" doc:"The payment whose money moved (absent for a credit note's event)."`
	// CreditNoteID and CreditNoteNumber name the credit note whose credit
	// moved (absent for a payment's event).
	CreditNoteID     int64               `json:"credit_note_id,omitempty" doc:"The credit note whose credit moved (absent for a payment's event)."`
	CreditNoteNumber string              `json:"credit_note_number,omitempty"`
	InvoiceID        int64               `json:"invoice_id" doc:"The invoice paid (or paid less)."`
	InvoiceNumber    string              `json:"invoice_number"`
	Amount           int64               `json:"amount"`
	Kind             AllocationEventKind `json:"kind"`
	EffectiveDate    Date                `json:"effective_date"`
	Actor            string              `json:"actor"`
}
