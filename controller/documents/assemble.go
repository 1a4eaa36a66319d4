package documents

import (
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// NewInvoiceDocument assembles the document of an invoice from the store's
// record of it: printed under company's letterhead, with the account
// type's message unless messageOverride is not blank (then it, trimmed).
// The account summary is the record's; it cannot fail.
func NewInvoiceDocument(r billing.InvoiceRecord, company Company, messageOverride string) InvoiceDocument {
	d := InvoiceDocument{
		Company:         company,
		Account:         r.Account,
		Invoice:         r.Invoice,
		PreviousBalance: r.PreviousBalance,
		Payments:        r.Payments,
		AmountDue:       r.AmountDue,
		Message:         r.Message,
		RemittanceSlip:  r.RemittanceSlip,
	}
	if override := strings.TrimSpace(messageOverride); override != "" {
		d.Message = override
	}
	return d
}

// NewInvoiceDocuments is [NewInvoiceDocument] for each record, in order.
func NewInvoiceDocuments(rs []billing.InvoiceRecord, company Company, messageOverride string) []InvoiceDocument {
	if rs == nil {
		return nil
	}
	out := make([]InvoiceDocument, len(rs))
	for i, r := range rs {
		out[i] = NewInvoiceDocument(r, company, messageOverride)
	}
	return out
}

// NewStatementDocument assembles the document of an account statement
// from the store's statement, printed under company's letterhead.
func NewStatementDocument(s billing.AccountStatement, company Company) StatementDocument {
	return StatementDocument{Company: company, Account: s.Account, From: s.From, To: s.To,
		Lines: s.Lines, OpeningBalance: s.OpeningBalance, ClosingBalance: s.ClosingBalance}
}
