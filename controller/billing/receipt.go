package billing

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReceiptChannel is how a payment came in, as the account type's
// receipts_for setting names it: the trigger of its gateway charge
// (portal, autopay, staff), staff for a manual payment staff post, batch
// for a deposit batch's payments.
type ReceiptChannel string

// Receipt channels.
const (
	ReceiptPortal  ReceiptChannel = "portal"
	ReceiptAutopay ReceiptChannel = "autopay"
	ReceiptStaff   ReceiptChannel = "staff"
	ReceiptBatch   ReceiptChannel = "batch"
)

// DefaultReceiptChannels are the channels whose payments are e-mailed a
// receipt unless the account type says otherwise: the subscriber's own
// (portal) and autopay; not the ones staff take or enter (staff, batch).
var DefaultReceiptChannels = []ReceiptChannel{ReceiptPortal, ReceiptAutopay}

// validReceiptsFor checks and normalises an account type's receipts_for
// (nil: the default; an empty list: no receipts).
func validReceiptsFor(in []ReceiptChannel) ([]ReceiptChannel, error) {
	if in == nil {
		return slices.Clone(DefaultReceiptChannels), nil
	}
	out := []ReceiptChannel{}
	for _, c := range in {
		switch c {
		case ReceiptPortal, ReceiptAutopay, ReceiptStaff, ReceiptBatch:
		default:
			return nil, Errorf(EINVALID, "receipts_for %q is not one of portal, autopay, staff, batch", c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// SendsReceipt reports whether payments of channel c are e-mailed a
// receipt for accounts of type t.
func (t AccountType) SendsReceipt(c ReceiptChannel) bool {
	list := t.ReceiptsFor
	if list == nil {
		list = DefaultReceiptChannels
	}
	return slices.Contains(list, c)
}

// Receipt is what a posted payment's receipt says: the e-mail
// ([ReceiptNotice]) and the portal's receipt page and PDF.
type Receipt struct {
	PaymentID     int64         `json:"payment_id"`
	AccountID     int64         `json:"account_id"`
	AccountNumber string        `json:"account_number"`
	AccountName   string        `json:"account_name"`
	Amount        int64         `json:"amount"`
	Currency      Currency      `json:"currency"`
	Method        PaymentMethod `json:"method"`
	// Brand, Last4 and BankName are the gateway method's (a card's brand
	// and last 4, a bank account's bank and last 4); Reference is a
	// check's number (or another manual payment's reference).
	Brand     string `json:"brand,omitempty"`
	Last4     string `json:"last4,omitempty"`
	BankName  string `json:"bank_name,omitempty"`
	Reference string `json:"reference,omitempty"`
	// Invoices are what the payment paid.
	Invoices     []Allocation  `json:"invoices"`
	ReceivedDate Date          `json:"received_date"`
	PostedAt     time.Time     `json:"posted_at"`
	Status       PaymentStatus `json:"status"`
	// Balance is the account's balance after the payment (positive:
	// owed), right after it was posted (its own journal transaction; not
	// what was posted after it).
	Balance int64 `json:"balance"`
}

// MethodWords names how the receipt's payment was made, as a person
// recognises it: "Visa ending 4242", "bank account ending 6789 (STRIPE
// TEST BANK)", "check 1234", "cash".
func (r Receipt) MethodWords() string {
	switch r.Method {
	case PayCard:
		brand := "card"
		if r.Brand != "" && r.Brand != "unknown" {
			brand = strings.ToUpper(r.Brand[:1]) + r.Brand[1:]
		}
		if r.Last4 == "" {
			return brand
		}
		return brand + " ending " + r.Last4
	case PayACH:
		s := "bank account"
		if r.Last4 != "" {
			s += " ending " + r.Last4
		}
		if r.BankName != "" {
			s += " (" + r.BankName + ")"
		}
		return s
	case PayCheck:
		return "check " + r.Reference
	case PayMoneyOrder:
		return "money order" + optionalReason(r.Reference)
	}
	return string(r.Method) + optionalReason(r.Reference)
}

// ReceiptNotice is the e-mail receipt of a payment that came in through
// channel for an account of type t, addressed to c; false when the type
// sends no receipt for channel or c has no e-mail address. The store
// queues it in the payment's transaction.
func ReceiptNotice(t AccountType, channel ReceiptChannel, r Receipt, c Contact) (Notice, bool) {
	if !t.SendsReceipt(channel) {
		return Notice{}, false
	}
	numbers := make([]string, len(r.Invoices))
	for i, a := range r.Invoices {
		numbers[i] = a.InvoiceNumber
	}
	return c.address(Notice{AccountID: r.AccountID, Kind: NoticeReceipt, Data: NoticeData{AccountNumber: r.AccountNumber,
		Currency: r.Currency, Amount: r.Amount, Balance: r.Balance, InvoiceNumbers: numbers, PaymentID: r.PaymentID,
		PaymentMethod: r.MethodWords(), PaymentDate: r.ReceivedDate}})
}

// String is the receipt in one line, for logs.
func (r Receipt) String() string {
	return fmt.Sprintf("payment %d: %d %s by %s", r.PaymentID, r.Amount, r.Currency, r.MethodWords())
}
