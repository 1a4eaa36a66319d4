package delivery

import (
	"context"
	"io"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Document is an invoice as delivery needs it: who gets it, what the email
// says, and the loaded document the [Source] renders (Payload, opaque
// here).
type Document struct {
	InvoiceID      int64
	Number         string
	Account        billing.Account
	Currency       billing.Currency
	Total          int64
	AmountDue      int64
	IssueDate      billing.Date
	DueDate        billing.Date
	RemittanceSlip bool
	Void           bool
	Payload        any
}

// Source loads invoices and renders their PDFs.
type Source interface {
	// Documents loads the given invoices (in any order; ids that do not
	// exist are left out).
	Documents(ctx context.Context, invoiceIDs []int64) ([]Document, error)
	// Render renders one invoice's PDF.
	Render(ctx context.Context, d Document) ([]byte, error)
	// RenderBatch renders docs, in their order, as one merged PDF.
	RenderBatch(ctx context.Context, w io.Writer, docs []Document) error
}

// postalAddress is the account's mailing address for the vendor, with its
// name; complete reports whether it has what a letter needs.
func postalAddress(a billing.Account) (addr PostalAddress, complete bool) {
	addr = PostalAddress{Name: a.Name, Line1: a.Address.Line1, Line2: a.Address.Line2, City: a.Address.City,
		Region: a.Address.Region, PostalCode: a.Address.PostalCode, Country: a.Address.Country}
	complete = strings.TrimSpace(addr.Line1) != "" && strings.TrimSpace(addr.City) != "" && strings.TrimSpace(addr.PostalCode) != ""
	return addr, complete
}

// oneLine writes an address on one line, for listings.
func (a PostalAddress) oneLine() string {
	var parts []string
	for _, p := range []string{a.Name, a.Company, a.Line1, a.Line2, strings.TrimSpace(a.City + " " + a.Region + " " + a.PostalCode), a.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
