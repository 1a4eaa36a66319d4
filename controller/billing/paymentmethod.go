package billing

import "time"

// StoredMethod is a payment method on file: a gateway token and what may be
// shown of it. Never a card or account number.
type StoredMethod struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"account_id"`
	Gateway   string `json:"gateway"`
	// Token and Customer are the gateway's ids, needed to charge.
	Token    string `json:"-"`
	Customer string `json:"-"`
	Kind     string `json:"kind"`
	Brand    string `json:"brand,omitempty"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month,omitempty"`
	ExpYear  int    `json:"exp_year,omitempty"`
	BankName string `json:"bank_name,omitempty"`
	Default  bool   `json:"default"`
	// Status is active, failing (the last charge failed in a way the
	// subscriber must fix; Failure says how) or removed.
	Status    string    `json:"status"`
	Failure   string    `json:"failure,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Expired reports whether a card's expiry month has passed on date d.
func (m StoredMethod) Expired(d Date) bool {
	if m.Kind != "card" || m.ExpYear == 0 {
		return false
	}
	return d.Year > m.ExpYear || (d.Year == m.ExpYear && int(d.Month) > m.ExpMonth)
}

// AttemptTrigger says who asked for a gateway charge.
type AttemptTrigger string

// Attempt triggers.
const (
	TriggerStaff   AttemptTrigger = "staff"
	TriggerAutopay AttemptTrigger = "autopay"
	TriggerPortal  AttemptTrigger = "portal"
)

// PaymentAttempt records one charge attempt through a gateway.
type PaymentAttempt struct {
	ID              int64          `json:"id"`
	AccountID       int64          `json:"account_id"`
	PaymentMethodID int64          `json:"payment_method_id"`
	Amount          int64          `json:"amount"`
	Currency        Currency       `json:"currency"`
	Trigger         AttemptTrigger `json:"trigger"`
	Gateway         string         `json:"gateway"`
	ChargeID        string         `json:"charge_id,omitempty"`
	// Status is pending (written before the gateway is called; its outcome
	// not yet known), processing (the gateway settles it later, as ACH
	// debits; a webhook finishes it), succeeded, failed (declined) or error
	// (the gateway refused the request: no money moved).
	Status         string `json:"status"`
	FailureCode    string `json:"failure_code,omitempty"`
	FailureMessage string `json:"failure_message,omitempty"`
	PaymentID      *int64 `json:"payment_id,omitempty"`
	InvoiceID      *int64 `json:"invoice_id,omitempty"`
	// ApplyTo names the invoices the charge's payment pays first, as far
	// as they are still open when it succeeds (the rest oldest first).
	ApplyTo        []AllocationChoice `json:"apply_to,omitempty"`
	AttemptNo      int                `json:"attempt_no"`
	IdempotencyKey string             `json:"-"`
	CreatedAt      time.Time          `json:"created_at"`
	// NeedsAttention is set on a pending attempt whose outcome recovery
	// cannot settle (its key is too old to re-send): staff check the
	// gateway.
	NeedsAttention string `json:"needs_attention,omitempty"`
}

// Unsettled reports whether the attempt's outcome is still open: pending
// (the gateway's answer is unknown) or processing (the gateway settles it
// later). Only such an attempt may be finished.
func (a PaymentAttempt) Unsettled() bool { return a.Status == "pending" || a.Status == "processing" }

// AttemptEffects is what a settled gateway attempt does to the account:
// Payment, when not nil, is the payment to post (then settle the account
// as [CausePayment]); MethodStatus, when not empty, is the status its
// payment method takes — active again after a success (from failing),
// failing after a decline (from active), with Failure.
type AttemptEffects struct {
	Payment      *NewPayment
	MethodStatus string
	Failure      string
}

// EffectsOf says what attempt a, charged to a method of kind methodKind
// (card, bank_account), does now that its outcome is known: a success
// posts a card or ACH payment whose reference is the gateway's charge; a
// decline marks the method failing; anything else does nothing.
func EffectsOf(a PaymentAttempt, methodKind string) AttemptEffects {
	switch a.Status {
	case "succeeded":
		method := PayCard
		if methodKind == "bank_account" {
			method = PayACH
		}
		return AttemptEffects{MethodStatus: "active",
			Payment: &NewPayment{AccountID: a.AccountID, Method: method, Amount: a.Amount, Reference: a.ChargeID, Memo: string(a.Trigger) + " charge",
				ApplyTo: a.ApplyTo, ApplyToBestEffort: true}}
	case "failed":
		return AttemptEffects{MethodStatus: "failing", Failure: a.FailureMessage}
	}
	return AttemptEffects{}
}
