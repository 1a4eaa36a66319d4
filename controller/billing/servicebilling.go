package billing

import (
	"fmt"
	"slices"
)

// This file holds how the billing run bills a service across its
// lifecycle: split at its terms changes, around its pause, each piece at
// the price version in force; and the adjustment invoice that carries a
// change invoiced at once.

// TermsFrom is a row of a service's terms history: from Effective on, the
// service is billed Plan × Quantity.
type TermsFrom struct {
	Effective Date  `json:"effective"`
	Plan      Plan  `json:"plan"`
	Quantity  int64 `json:"quantity"`
}

// ServiceHistory is a service as the billing run bills it over its
// lifecycle changes.
type ServiceHistory struct {
	// Service holds the service's dates and, when Terms is empty, its plan
	// and quantity.
	Service BillableService
	// Terms is the terms history in Effective order; the first row is in
	// force from the service's start whatever its date.
	Terms []TermsFrom
	// PauseFrom and PauseTo (exclusive) bound the service's pause (zero:
	// none); EarlierPauses are its pauses before that one (its pause
	// history): none of their days is billed at the plan either.
	PauseFrom, PauseTo Date
	EarlierPauses      []PauseSpan
	// Versions are the price versions of the service's plans, by plan id.
	Versions map[int64][]PriceVersion
}

// BillableIn is what [ComposeInvoice] bills for the service in account
// period p: one BillableService per run of days on the same terms (split
// at each change's effective date, the change day billed at the new
// terms), each plan priced for p by [PriceFor], and around the pause the
// hold fee per month ([PausedBillable]), around every pause of its
// history.
func (h ServiceHistory) BillableIn(p Period, holdFeePerMonth int64) []BillableService {
	s := h.Service
	pieces := []BillableService{s}
	if len(h.Terms) > 0 {
		pieces = pieces[:0]
		for i, t := range h.Terms {
			piece := s
			piece.Plan, piece.Quantity = t.Plan, t.Quantity
			if i > 0 && t.Effective.After(piece.Start) {
				piece.Start = t.Effective
			}
			if i+1 < len(h.Terms) {
				next := h.Terms[i+1].Effective
				if piece.End.IsZero() || next.Before(piece.End) {
					piece.End = next
				}
			}
			if piece.End.IsZero() || piece.Start.Before(piece.End) {
				pieces = append(pieces, piece)
			}
		}
	}
	pauses := h.EarlierPauses
	if !h.PauseFrom.IsZero() {
		pauses = append(slices.Clone(pauses), PauseSpan{From: h.PauseFrom, To: h.PauseTo})
	}
	var out []BillableService
	for _, piece := range pieces {
		piece.Plan.Price = PriceFor(piece.Plan.Price, h.Versions[piece.Plan.ID], s.Start, p)
		split := []BillableService{piece}
		for _, pause := range pauses {
			var next []BillableService
			for _, b := range split {
				if b.Hold {
					next = append(next, b)
					continue
				}
				next = append(next, PausedBillable(b, pause.From, pause.To, holdFeePerMonth)...)
			}
			split = next
		}
		out = append(out, split...)
	}
	return out
}

// ComposeAdjustmentInvoice builds the adjustment invoice of a lifecycle
// plan invoiced at once (immediate_invoice): the plan's lines for account
// period p (its InvoicePeriod), tax per rate over the taxable lines as
// [ComposeInvoice] computes it, issued today, due today + due_days,
// delinquent after due + grace_days moved forward by the date rule. It
// stands beside the period's regular invoice (Kind adjustment).
//
// Errors: as [ComposeInvoice]; EINVALID when no line has an amount.
func ComposeAdjustmentInvoice(a Account, t AccountType, p Period, lines []ProratedLine, rates []TaxRate, today Date) (Invoice, error) {
	var charges []OneTimeCharge
	for _, l := range lines {
		if l.Amount == 0 {
			continue
		}
		charges = append(charges, OneTimeCharge{AccountID: a.ID, Description: l.Description, Amount: l.Amount, Taxable: l.Taxable,
			ChargeDate: p.Start, ServiceID: l.ServiceID, PeriodStart: l.PeriodStart, PeriodEnd: l.PeriodEnd})
	}
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: t, Period: p, Charges: charges, TaxRates: rates})
	if err != nil {
		return Invoice{}, err
	}
	if !ok {
		return Invoice{}, Errorf(EINVALID, "an adjustment invoice needs a line with an amount")
	}
	for i := range inv.Lines {
		inv.Lines[i].ChargeID = nil
	}
	rule, err := NewDateRule(t)
	if err != nil {
		return Invoice{}, err
	}
	inv.Kind = InvoiceAdjustment
	inv.IssueDate = today
	inv.DueDate = today.AddDays(t.DueDays)
	del0 := inv.DueDate.AddDays(t.GraceDays)
	var skips []Skip
	inv.DelinquencyDate, skips = rule.Next(del0)
	inv.Why = []string{fmt.Sprintf("adjustment invoice for period %s, issued %s with a service change (the account type invoices changes at once): due %s (issue + %d due days), delinquency date %s (due + %d grace days)",
		p, today.Label(), inv.DueDate.Label(), t.DueDays, del0.Label(), t.GraceDays)}
	if len(skips) > 0 {
		inv.Why = append(inv.Why, describeMove("delinquency date", del0, inv.DelinquencyDate, skips))
	}
	return inv, nil
}
