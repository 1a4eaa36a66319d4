package billing

// InvoiceRecord is what the store reads for printing an invoice: the
// invoice with its lines, its account, the account type's invoice message
// and remittance-slip setting, and the account summary from the journal.
// The printed document is assembled from it next to the renderers
// (documents.NewInvoiceDocument).
//
// The summary reads PreviousBalance + the sum of Payments + Invoice.Total =
// AmountDue, as the journal said when the invoice was issued.
type InvoiceRecord struct {
	Invoice Invoice
	Account Account
	// Message is the account type's invoice_message ("" for none).
	Message string
	// RemittanceSlip is the account type's remittance_slip setting.
	RemittanceSlip bool
	// PreviousBalance is what the account owed right after its previous
	// invoice was issued (0 for a first invoice).
	PreviousBalance int64
	// Payments are the payments, credits and adjustments posted since the
	// previous invoice and before this one, in posting order.
	Payments []InvoicePayment
	// AmountDue is what the account owed right after this invoice was
	// issued (negative: a credit).
	AmountDue int64
}

// InvoicePayment is one payment, credit or other adjustment posted to an
// account between two invoices, as an invoice lists it.
type InvoicePayment struct {
	Date Date // effective date
	Memo string
	// Amount is the transaction's effect on what the account owes, in minor
	// units of the invoice's currency: negative for a payment or a credit,
	// positive for a reversed payment, a refund or a late fee.
	Amount int64
}

// AccountStatement is an account's activity between two dates, as the
// store reads it from the journal.
type AccountStatement struct {
	Account Account
	// From and To are the first and last effective dates covered
	// (inclusive).
	From, To Date
	// Lines are the journal transactions effective in [From, To], in date
	// order (posting order within a day), each with its effect on the
	// balance and the running balance.
	Lines []StatementLine
	// OpeningBalance is the balance before From, ClosingBalance after To:
	// OpeningBalance plus the lines' amounts.
	OpeningBalance, ClosingBalance int64
}
