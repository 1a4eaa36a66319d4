package billing

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// RefundStatus is where a refund is in its life.
type RefundStatus string

// Refund statuses. A card/ACH refund is reserved (pending) before the
// gateway is asked, then completed (journal posted) or released; a refund of
// a check, cash or other payment is completed at once.
const (
	RefundPending   RefundStatus = "pending"
	RefundCompleted RefundStatus = "completed"
	RefundReleased  RefundStatus = "released"
)

// Refund is money paid back out of a payment's unapplied credit. While it is
// pending its amount is reserved on the payment: no other refund and no
// invoice can take it.
type Refund struct {
	ID        int64        `json:"id"`
	PaymentID int64        `json:"payment_id"`
	AccountID int64        `json:"account_id"`
	Amount    int64        `json:"amount"`
	Currency  Currency     `json:"currency"`
	Memo      string       `json:"memo,omitempty"`
	Status    RefundStatus `json:"status"`
	// IdempotencyKey is the key the gateway is called with (the request's
	// own); empty for refunds that need no gateway.
	IdempotencyKey string `json:"-"`
	// Gateway and GatewayCharge say where the money goes back from;
	// GatewayRefund is the gateway's id of the refund once known.
	Gateway       string `json:"gateway,omitempty"`
	GatewayCharge string `json:"gateway_charge,omitempty"`
	GatewayRefund string `json:"gateway_refund,omitempty"`
	// ReleaseReason says why a released refund was not made.
	ReleaseReason string `json:"release_reason,omitempty"`
	// NeedsAttention is set when the refund's outcome cannot be settled
	// automatically (its gateway key is too old to replay and the gateway
	// has no refund carrying its id): staff must check at the gateway and
	// then complete or release it.
	NeedsAttention string     `json:"needs_attention,omitempty"`
	CreatedBy      string     `json:"created_by,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
}

// RefundRequest asks for a refund of part of a payment's unapplied credit.
type RefundRequest struct {
	PaymentID int64  `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Memo      string `json:"memo,omitempty"`
	// IdempotencyKey is required when the payment's money goes back through
	// a gateway: the gateway is called with it, and a retry with the same
	// key resumes the same refund.
	IdempotencyKey string `json:"-"`
}

// MaxRefundMemo is the longest refund memo, in characters.
const MaxRefundMemo = 500

// Validate checks a refund request before anything is reserved or sent:
// a positive amount, a memo of at most MaxRefundMemo characters of valid
// UTF-8 without control characters (tab and newline allowed). EINVALID
// naming the field.
func (r RefundRequest) Validate() error {
	if r.Amount <= 0 {
		return Errorf(EINVALID, "amount %d must be positive (minor units)", r.Amount)
	}
	if err := CheckMemoText("memo", r.Memo, MaxRefundMemo); err != nil {
		return err
	}
	if len(r.IdempotencyKey) > 500 {
		return Errorf(EINVALID, "idempotency key is longer than 500 bytes")
	}
	return nil
}

// RefundKeyReplayLimit is how old a gateway idempotency key may be and still
// be sent again. Stripe keeps keys for at least 24 hours; a key sent later
// could be taken as new and refund twice, so after 23 hours Tollgate no
// longer re-sends a refund whose outcome it does not know.
const RefundKeyReplayLimit = 23 * time.Hour

// RefundRecovery is what to do with a refund left pending (its request
// crashed or lost its answer between the gateway call and the journal).
type RefundRecovery int

// Refund recovery actions.
const (
	// RecoverComplete: the gateway has a settled refund carrying the
	// refund's id: post the journal with the gateway's refund.
	RecoverComplete RefundRecovery = iota + 1
	// RecoverRelease: the gateway has the refund but it failed or was
	// canceled: release the reservation.
	RecoverRelease
	// RecoverResend: the gateway has no refund with the id and the key is
	// young enough to replay: send the same request, with the same key,
	// again (the gateway answers the first result if it had one).
	RecoverResend
	// RecoverFlag: the gateway has no refund with the id and the key is too
	// old to replay safely: flag the refund for staff, never re-send it.
	RecoverFlag
)

// DecideRefundRecovery chooses what to do with a pending refund created at
// created, given whether the gateway lists a refund carrying its id (found)
// and, if so, whether that refund settled (succeeded or pending).
func DecideRefundRecovery(created, now time.Time, found, settled bool) RefundRecovery {
	switch {
	case found && settled:
		return RecoverComplete
	case found:
		return RecoverRelease
	case now.Sub(created) < RefundKeyReplayLimit:
		return RecoverResend
	default:
		return RecoverFlag
	}
}

// RefundFilter selects refunds to list; zero fields do not filter.
type RefundFilter struct {
	PaymentID int64
	Status    RefundStatus
	// NeedsAttention lists only refunds flagged for staff.
	NeedsAttention bool
	AfterID        int64
	Limit          int
}

// CheckMemoText checks free text that is stored and shown (a memo, a
// reason): valid UTF-8, at most maxChars characters, no control characters
// except tab and line breaks. EINVALID naming field.
func CheckMemoText(field, s string, maxChars int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return Errorf(EINVALID, "%s is %d characters long; at most %d are allowed", field, n, maxChars)
	}
	for _, c := range s {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return Errorf(EINVALID, "%s contains a control character (U+%04X)", field, c)
		}
	}
	return nil
}

// CheckRefundable refuses a refund of amount from payment p, of which
// allocated is applied to invoices: p must be posted (ECONFLICT), and
// amount at most what is neither refunded, reserved by a refund in
// progress nor applied to invoices (EINVALID, saying what is refundable).
func CheckRefundable(p Payment, allocated, amount int64) error {
	if p.Status != PaymentPosted {
		return Errorf(ECONFLICT, "payment %d is %s; it cannot be refunded", p.ID, p.Status)
	}
	if n := p.Amount - p.Refunded - p.RefundReserved - allocated; amount > n {
		money := func(v int64) string { return string(p.Currency) + " " + FormatAmount(v, p.Currency) }
		msg := fmt.Sprintf("amount %s is more than payment %d's unapplied credit (%s)", money(amount), p.ID, money(n))
		if p.RefundReserved > 0 {
			msg += fmt.Sprintf(", with %s held by refunds in progress", money(p.RefundReserved))
		}
		return Errorf(EINVALID, "%s; reverse the payment instead", msg)
	}
	return nil
}
