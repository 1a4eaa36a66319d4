package billing

import "time"

// AccountFilter selects accounts in listings.
type AccountFilter struct {
	AccountTypeID int64
	Status        AccountStatus
	// Search matches number, external id, name or email (case-insensitive
	// substring).
	Search  string
	AfterID int64
	Limit   int
}

// InvoiceFilter selects invoices in listings.
type InvoiceFilter struct {
	AccountID    int64
	Status       InvoiceStatus
	BillingRunID int64
	// IssuedFrom and IssuedTo keep invoices issued on or after and on or
	// before those days (zero: any).
	IssuedFrom, IssuedTo Date
	AfterID              int64
	Limit                int
}

// StatementLine is one journal transaction's effect on an account's
// balance, with the balance after it.
type StatementLine struct {
	TxID          int64  `json:"tx_id"`
	Kind          TxKind `json:"kind"`
	EffectiveDate Date   `json:"effective_date"`
	// OriginalDate is the date the transaction was dated when that fell in
	// a closed period: it was posted on the first open day instead
	// (EffectiveDate). Zero otherwise.
	OriginalDate   Date      `json:"original_date,omitzero"`
	PostedAt       time.Time `json:"posted_at"`
	Memo           string    `json:"memo"`
	InvoiceID      *int64    `json:"invoice_id,omitempty"`
	InvoiceNumber  string    `json:"invoice_number,omitempty"`
	Amount         int64     `json:"amount"`
	RunningBalance int64     `json:"running_balance"`
}
