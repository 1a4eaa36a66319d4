package documents

import (
	"fmt"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// StatementPayment is one payment, credit or other adjustment posted to an
// account between two invoices, as an invoice lists it (the store's
// [billing.InvoicePayment]).
type StatementPayment = billing.InvoicePayment

// InvoiceDocument is everything printed on one invoice PDF.
//
// The account summary reads PreviousBalance + the sum of Payments +
// Invoice.Total = AmountDue; the renderer prints the figures it is given
// and does not recompute them.
type InvoiceDocument struct {
	Company Company
	// RemitTo are the lines of the address payments go to, printed on the
	// remittance slip under the company's name (nil: the company's address).
	RemitTo []string
	// Account is the billed account: number, name and postal address (shown
	// through the window of a #10 envelope).
	Account billing.Account
	// Invoice is the invoice with its lines.
	Invoice billing.Invoice
	// PreviousBalance is what the account owed right after its previous
	// invoice was issued (0 for a first invoice).
	PreviousBalance int64
	// Payments are the payments, credits and adjustments posted since the
	// previous invoice and before this one, in posting order.
	Payments []StatementPayment
	// AmountDue is what the account owes with this invoice (negative: a
	// credit, nothing to pay).
	AmountDue int64
	// Message is printed in a box: the account type's invoice_message, or a
	// per-run override ("" for none).
	Message string
	// RemittanceSlip adds a tear-off slip at the bottom third of the first
	// page, to be returned with the payment in a #9 window envelope.
	RemittanceSlip bool
}

// paidInFull reports whether the invoice is paid: a reprint shows it PAID,
// with nothing due on it.
func (d InvoiceDocument) paidInFull() bool { return d.Invoice.Status == billing.InvoicePaid }

// dueNow is what the invoice asks to be paid when printed: the amount due
// at issue, or nothing when it is void, paid or a credit.
func (d InvoiceDocument) dueNow() int64 {
	if d.Invoice.Status == billing.InvoiceVoid || d.paidInFull() {
		return 0
	}
	return max(d.AmountDue, 0)
}

// remitTo is the remit-to address: the document's, else the company's.
func (d InvoiceDocument) remitTo() []string {
	lines := d.RemitTo
	if len(lines) == 0 {
		lines = d.Company.Address
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if l = oneLine(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// checked validates the document and returns it with its currency
// normalised. EINVALID names each problem.
func (d InvoiceDocument) checked() (InvoiceDocument, error) {
	var problems []string
	c, err := billing.ParseCurrency(string(d.Invoice.Currency))
	if err != nil {
		problems = append(problems, fmt.Sprintf("currency %q is not a supported ISO 4217 code", d.Invoice.Currency))
	} else {
		d.Invoice.Currency = c
	}
	if d.Invoice.DueDate.IsZero() {
		problems = append(problems, "the due date is missing")
	}
	if d.Invoice.IssueDate.IsZero() {
		problems = append(problems, "the issue date is missing")
	}
	if len(problems) > 0 {
		label := d.Invoice.Number
		if label == "" {
			label = fmt.Sprint(d.Invoice.ID)
		}
		return d, billing.Errorf(billing.EINVALID, "invoice %s: %s", label, strings.Join(problems, "; "))
	}
	return d, nil
}

// StatementDocument is an account's activity between two dates.
type StatementDocument struct {
	Company Company
	Account billing.Account
	// From and To are the first and last effective dates covered
	// (inclusive).
	From, To billing.Date
	// Lines are the journal transactions effective in [From, To], in the
	// order they are printed. Their Amount is what each changed the balance
	// by; the renderer computes the running balance itself from
	// OpeningBalance (the lines' RunningBalance is not used).
	Lines []billing.StatementLine
	// OpeningBalance is the balance before From, ClosingBalance after To;
	// ClosingBalance must equal OpeningBalance plus the lines' amounts.
	OpeningBalance, ClosingBalance int64
}

func (d StatementDocument) checked() (StatementDocument, error) {
	var problems []string
	c, err := billing.ParseCurrency(string(d.Account.Currency))
	if err != nil {
		problems = append(problems, fmt.Sprintf("currency %q is not a supported ISO 4217 code", d.Account.Currency))
	} else {
		d.Account.Currency = c
	}
	if d.From.IsZero() || d.To.IsZero() {
		problems = append(problems, "the statement period needs both a from and a to date")
	} else if d.To.Before(d.From) {
		problems = append(problems, fmt.Sprintf("the period ends (%s) before it starts (%s)", d.To, d.From))
	}
	sum := d.OpeningBalance
	for _, l := range d.Lines {
		sum += l.Amount
	}
	if sum != d.ClosingBalance {
		problems = append(problems, fmt.Sprintf("the opening balance %d plus the lines (%d) is not the closing balance %d", d.OpeningBalance, sum-d.OpeningBalance, d.ClosingBalance))
	}
	if len(problems) > 0 {
		return d, billing.Errorf(billing.EINVALID, "statement of account %s: %s", d.Account.Number, strings.Join(problems, "; "))
	}
	return d, nil
}

// addressLines are a postal address's lines as printed on an envelope:
// line 1, line 2, "City, Region Postal", country; empty parts left out.
func addressLines(a billing.Address) []string {
	var out []string
	for _, l := range []string{a.Line1, a.Line2} {
		if l = oneLine(l); l != "" {
			out = append(out, l)
		}
	}
	city, region, postal := oneLine(a.City), oneLine(a.Region), oneLine(a.PostalCode)
	last := city
	if region != "" {
		if last != "" {
			last += ", "
		}
		last += region
	}
	if postal != "" {
		if last != "" {
			last += "  "
		}
		last += postal
	}
	if last != "" {
		out = append(out, last)
	}
	if c := oneLine(a.Country); c != "" {
		out = append(out, c)
	}
	return out
}

// longDate prints a date for people: "June 15, 2025".
func longDate(d billing.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%s %d, %d", d.Month, d.Day, d.Year)
}

// shortDate prints a date compactly: "Jun 15, 2025".
func shortDate(d billing.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%s %d, %d", d.Month.String()[:3], d.Day, d.Year)
}
