package billing

import (
	"slices"
	"strconv"
)

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
	PaymentID int64 `json:"payment_id"`
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

// AllocationChoice is staff's choice to apply Amount (minor units) of a
// payment to one invoice, named by its number ("INV-000012") or id.
type AllocationChoice struct {
	Invoice string `json:"invoice" maxLength:"64" doc:"The invoice's number (INV-000012) or id."`
	Amount  int64  `json:"amount" minimum:"1" maximum:"100000000000" doc:"Minor units of the payment's currency."`
}

// ChosenPayment is a payment whose money goes first to the invoices staff
// chose (ApplyTo). Field names the list in errors ("apply_to",
// "lines[3].apply_to"). BestEffort is for money already taken (a gateway
// charge settling, perhaps days after it was asked for): a chosen invoice
// no longer open is passed over and an amount beyond what is due, or what
// the payment has left, is cut, instead of refusing the payment.
type ChosenPayment struct {
	PaymentID  int64
	Field      string
	ApplyTo    []AllocationChoice
	BestEffort bool
}

// maxChoices bounds one payment's chosen invoices.
const maxChoices = 100

// CheckAllocationChoices checks what can be checked of choices without the
// account's invoices: an invoice named, amounts positive, their sum within
// amount (the payment's). Errors are EINVALID naming field[i].invoice or
// field[i].amount.
func CheckAllocationChoices(field string, amount int64, choices []AllocationChoice) error {
	if len(choices) > maxChoices {
		return Errorf(EINVALID, "%s has %d invoices; at most %d", field, len(choices), maxChoices)
	}
	var sum int64
	for i, c := range choices {
		switch {
		case c.Invoice == "":
			return Errorf(EINVALID, "%s[%d].invoice is required: an invoice number or id", field, i)
		case c.Amount <= 0:
			return Errorf(EINVALID, "%s[%d].amount %d must be positive (minor units)", field, i, c.Amount)
		case c.Amount > MaxAmount:
			return Errorf(EINVALID, "%s[%d].amount %d is larger than any payment", field, i, c.Amount)
		}
		if sum += c.Amount; sum > amount {
			return Errorf(EINVALID, "%s[%d].amount: the chosen amounts add up to %d, more than the payment's %d", field, i, sum, amount)
		}
	}
	return nil
}

// matches reports whether ref (a number or an id) names invoice inv.
func (inv OpenInvoice) matches(ref string) bool {
	return ref == inv.Number || ref == strconv.FormatInt(inv.InvoiceID, 10)
}

// PlanChosenAllocations is [PlanAllocations] with staff's choices: each
// chosen payment's ApplyTo amounts are applied first, in the order given,
// and then every credit left (what the chosen payments have left too) pays
// the oldest open invoices as PlanAllocations does. invoices are one
// account's open invoices, oldest due first; credits include the chosen
// payments. It returns the allocations, choices first, and the invoices
// paid in full.
//
// Errors, EINVALID naming the field (Field[i].invoice or Field[i].amount):
// an invoice that is not an open invoice of the account (unknown, another
// account's, paid or void), an amount not positive, more than is still due
// on the invoice (after the choices before it), or more than the payment
// has. Nothing is planned on an error.
func PlanChosenAllocations(credits []OpenCredit, invoices []OpenInvoice, chosen []ChosenPayment) ([]PlannedAllocation, []int64, error) {
	cs := slices.Clone(credits)
	open := slices.Clone(invoices)
	var out []PlannedAllocation
	var paid []int64
	for _, ch := range chosen {
		ci := slices.IndexFunc(cs, func(c OpenCredit) bool { return c.PaymentID == ch.PaymentID })
		left := int64(0)
		if ci >= 0 {
			left = cs[ci].Amount
		}
		if ch.BestEffort {
			ch.ApplyTo = bestEffort(ch.ApplyTo, left, open)
		}
		if err := CheckAllocationChoices(ch.Field, left, ch.ApplyTo); err != nil {
			return nil, nil, err
		}
		for i, c := range ch.ApplyTo {
			k := slices.IndexFunc(open, func(inv OpenInvoice) bool { return inv.matches(c.Invoice) })
			switch {
			case k < 0 || invoices[k].Amount <= 0:
				return nil, nil, Errorf(EINVALID, "%s[%d].invoice %q is not an open invoice of the payment's account", ch.Field, i, c.Invoice)
			case c.Amount > open[k].Amount:
				return nil, nil, Errorf(EINVALID, "%s[%d].amount %d is more than the %d still due on %s", ch.Field, i, c.Amount, open[k].Amount, open[k].Number)
			}
			out = append(out, PlannedAllocation{PaymentID: ch.PaymentID, Allocation: Allocation{InvoiceID: open[k].InvoiceID, InvoiceNumber: open[k].Number, Amount: c.Amount}})
			cs[ci].Amount -= c.Amount
			if open[k].Amount -= c.Amount; open[k].Amount == 0 {
				paid = append(paid, open[k].InvoiceID)
			}
		}
	}
	rest, full := PlanAllocations(cs, open)
	return append(out, rest...), append(paid, full...), nil
}

// SplitOverChosen is how a payment of amount pays the invoices staff ticked
// (chosen, with what each still owes, in the order staff see them): each in
// turn up to what it still owes, until the amount runs out. What is left
// over is not planned here: it pays the oldest open invoices when the
// payment posts ([PlanChosenAllocations]). An invoice owing nothing, or
// reached after the amount ran out, gets no choice; an invoice is named by
// its number, else its id. The result is the payment's apply_to.
func SplitOverChosen(amount int64, chosen []OpenInvoice) []AllocationChoice {
	choices := make([]AllocationChoice, len(chosen))
	for i, inv := range chosen {
		ref := inv.Number
		if ref == "" {
			ref = strconv.FormatInt(inv.InvoiceID, 10)
		}
		choices[i] = AllocationChoice{Invoice: ref, Amount: inv.Amount}
	}
	return bestEffort(choices, amount, chosen)
}

// bestEffort cuts choices to what can be applied: open invoices only, each
// amount within what is due on it (after the choices before it) and within
// left, the payment's.
func bestEffort(choices []AllocationChoice, left int64, invoices []OpenInvoice) []AllocationChoice {
	due := map[int]int64{}
	var out []AllocationChoice
	for _, c := range choices {
		k := slices.IndexFunc(invoices, func(inv OpenInvoice) bool { return inv.matches(c.Invoice) })
		if k < 0 {
			continue
		}
		if _, seen := due[k]; !seen {
			due[k] = invoices[k].Amount
		}
		if take := min(c.Amount, due[k], left); take > 0 {
			out = append(out, AllocationChoice{Invoice: c.Invoice, Amount: take})
			due[k] -= take
			left -= take
		}
	}
	return out
}
