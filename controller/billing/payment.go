package billing

import (
	"strings"
	"time"
)

// PaymentMethod is how a payment was made.
type PaymentMethod string

// Payment methods. Card and ACH payments come through a gateway; the others
// are entered by staff.
const (
	PayCard       PaymentMethod = "card"
	PayACH        PaymentMethod = "ach"
	PayCheck      PaymentMethod = "check"
	PayCash       PaymentMethod = "cash"
	PayWire       PaymentMethod = "wire"
	PayMoneyOrder PaymentMethod = "money_order"
	PayOther      PaymentMethod = "other"
)

// Valid reports whether m is a known method.
func (m PaymentMethod) Valid() bool {
	switch m {
	case PayCard, PayACH, PayCheck, PayCash, PayWire, PayMoneyOrder, PayOther:
		return true
	}
	return false
}

// Manual reports whether staff enter payments of this method by hand.
func (m PaymentMethod) Manual() bool { return m.Valid() && m != PayCard && m != PayACH }

// PaymentStatus is a payment's state.
type PaymentStatus string

// Payment statuses.
const (
	PaymentPosted   PaymentStatus = "posted"
	PaymentReversed PaymentStatus = "reversed"
)

// NewPayment is a payment to post. Amount is in minor units of the account's
// currency.
type NewPayment struct {
	AccountID int64         `json:"account_id,omitempty"`
	Method    PaymentMethod `json:"method" enum:"check,cash,wire,money_order,other,card,ach"`
	Amount    int64         `json:"amount" minimum:"1" maximum:"100000000000"`
	// Reference is the check number, wire reference or receipt number.
	Reference string `json:"reference,omitempty"`
	Payer     string `json:"payer,omitempty"`
	// ReceivedDate defaults to today.
	ReceivedDate Date   `json:"received_date,omitzero"`
	Memo         string `json:"memo,omitempty"`
	// ApplyTo names the invoices staff chose to pay, with how much of the
	// payment each gets; they are paid first, what is left pays the oldest
	// open invoices and any rest stays as credit. Empty: oldest first.
	ApplyTo []AllocationChoice `json:"apply_to,omitempty" maxItems:"100"`
	// ApplyToBestEffort applies ApplyTo as far as it still can (see
	// [ChosenPayment].BestEffort): set for a gateway charge settling,
	// whose money is taken whatever became of the invoices meanwhile.
	ApplyToBestEffort bool `json:"-"`
}

// Validate checks a payment's own fields; whether the account exists is the
// store's to check. Errors name the field.
func (p *NewPayment) Validate() error {
	p.Reference, p.Payer, p.Memo = strings.TrimSpace(p.Reference), strings.TrimSpace(p.Payer), strings.TrimSpace(p.Memo)
	switch {
	case !p.Method.Valid():
		return Errorf(EINVALID, "method %q is not one of check, cash, wire, money_order, other, card, ach", p.Method)
	case p.Amount <= 0:
		return Errorf(EINVALID, "amount %d must be positive (minor units)", p.Amount)
	case p.Amount > MaxAmount:
		return Errorf(EINVALID, "amount %d is larger than any payment Tollgate accepts", p.Amount)
	case p.Method == PayCheck && p.Reference == "":
		return Errorf(EINVALID, "reference (the check number) is required for a check")
	case len(p.Reference) > 100 || len(p.Payer) > 200 || len(p.Memo) > 500:
		return Errorf(EINVALID, "reference, payer or memo is too long (100, 200, 500 characters)")
	case p.ApplyToBestEffort:
		return nil // cut to what can be applied when it is
	}
	return CheckAllocationChoices("apply_to", p.Amount, p.ApplyTo)
}

// Payment is a posted payment.
type Payment struct {
	ID           int64         `json:"id"`
	AccountID    int64         `json:"account_id"`
	Method       PaymentMethod `json:"method"`
	Amount       int64         `json:"amount"`
	Currency     Currency      `json:"currency"`
	Reference    string        `json:"reference,omitempty"`
	Payer        string        `json:"payer,omitempty"`
	ReceivedDate Date          `json:"received_date"`
	Memo         string        `json:"memo,omitempty"`
	Status       PaymentStatus `json:"status"`
	Refunded     int64         `json:"refunded"`
	// RefundReserved is the part of the payment held by refunds in
	// progress (reserved, not yet confirmed by the gateway).
	RefundReserved int64  `json:"refund_reserved,omitempty"`
	BatchID        *int64 `json:"batch_id,omitempty"`
	// Gateway and GatewayCharge identify a card/ACH payment at its gateway.
	Gateway       string       `json:"gateway,omitempty"`
	GatewayCharge string       `json:"gateway_charge,omitempty"`
	PostedBy      string       `json:"posted_by,omitempty"`
	PostedAt      time.Time    `json:"posted_at"`
	ReversedAt    *time.Time   `json:"reversed_at,omitempty"`
	ReversalNote  string       `json:"reversal_reason,omitempty"`
	Allocations   []Allocation `json:"allocations"`
	// Unallocated is the part of the payment that is credit on the account.
	Unallocated int64 `json:"unallocated"`
	// Warnings are for staff (a payment to a closed account posts as
	// credit, …): decided by [PaymentOnAccount] whichever path posts the
	// payment (staff entry, a batch line, a gateway charge, autopay, the
	// portal), and kept with it.
	Warnings []string `json:"warnings,omitempty"`
}

// Allocation is the part of a payment applied to one invoice.
type Allocation struct {
	InvoiceID     int64  `json:"invoice_id"`
	InvoiceNumber string `json:"invoice_number"`
	Amount        int64  `json:"amount"`
}

// ReversalReason says why a payment is reversed.
type ReversalReason string

// Reversal reasons.
const (
	ReverseNSF        ReversalReason = "nsf"
	ReverseChargeback ReversalReason = "chargeback"
	ReverseError      ReversalReason = "entry_error"
)

// Reversal reverses a posted payment.
type Reversal struct {
	Reason ReversalReason `json:"reason" enum:"nsf,chargeback,entry_error"`
	// Fee is a returned-payment fee (minor units) charged to the account; 0
	// for none.
	Fee  int64  `json:"fee,omitempty" minimum:"0" maximum:"100000000000"`
	Memo string `json:"memo,omitempty"`
}

// Validate checks a reversal.
func (r Reversal) Validate() error {
	switch r.Reason {
	case ReverseNSF, ReverseChargeback, ReverseError:
	default:
		return Errorf(EINVALID, "reason %q is not one of nsf, chargeback, entry_error", r.Reason)
	}
	if err := CheckAmount("fee", r.Fee); err != nil {
		return err
	}
	if r.Fee < 0 {
		return Errorf(EINVALID, "fee %d must not be negative", r.Fee)
	}
	return nil
}
