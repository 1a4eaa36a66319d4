package payments

import (
	"context"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// MethodKind says what a payment method draws on.
type MethodKind string

// Payment method kinds.
const (
	KindCard        MethodKind = "card"
	KindBankAccount MethodKind = "bank_account"
)

// PaymentMethod is what Tollgate may store about a card or bank account: the
// gateway's reusable token and what a person needs to recognise the method
// ("visa ending 4242, 12/2030"). It never holds a card or account number.
type PaymentMethod struct {
	// Token is the gateway's id for the method ("pm_…", "tok_sandbox_…");
	// pass it to [Gateway.Charge].
	Token string     `json:"token"`
	Kind  MethodKind `json:"kind"`
	// Brand is "visa", "mastercard", "amex", "discover", "diners", "jcb",
	// "unionpay" or "unknown" for cards, empty for bank accounts.
	Brand string `json:"brand,omitempty"`
	// Last4 is the last four digits of the card or account number.
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month,omitempty"`
	ExpYear  int    `json:"exp_year,omitempty"`
	// BankName is the bank's name for bank accounts.
	BankName string `json:"bank_name,omitempty"`
	// Customer is the gateway customer the method is attached to, if the
	// gateway has customers (Stripe: "cus_…"; a method must be attached to a
	// customer to be charged more than once). Store it with the token and
	// pass it as [ChargeRequest.Customer].
	Customer string `json:"customer,omitempty"`
}

// CardInput is a card as typed by a person into the sandbox's own fields
// (its browser origin, sandboxelements.go). It lives only in memory for one
// [Sandbox.Tokenize] call: never store it, log it or put it in an error.
// Tollgate's servers never take one: the processor's fields do.
type CardInput struct {
	// Number may contain spaces or dashes between digit groups.
	Number string
	// ExpMonth is 1–12; ExpYear is four digits (two-digit years are read as
	// 20YY).
	ExpMonth, ExpYear int
	// CVC is optional (3 digits, 4 for American Express).
	CVC string
	// Name is the cardholder's name, optional.
	Name string
	// Customer optionally names an existing gateway customer to attach the
	// method to (Stripe "cus_…"); empty lets the gateway create one when it
	// needs one.
	Customer string
}

// String hides the card, so that printing a CardInput by mistake (%v, a
// debugger, a log line) cannot leak the number or the CVC.
func (c CardInput) String() string { return "payments.CardInput{redacted}" }

// GoString hides the card for %#v as well.
func (c CardInput) GoString() string { return c.String() }

// ChargeRequest asks a gateway to take money from a stored method.
type ChargeRequest struct {
	// Token is a [PaymentMethod.Token].
	Token string
	// Amount is in minor units of Currency and must be positive.
	Amount      int64
	Currency    billing.Currency
	Description string
	// IdempotencyKey makes retries safe: the same key returns the first
	// result; the same key with different parameters is an ECONFLICT error.
	// Always set it (the payment's own idempotency key, or the autopay
	// attempt's id).
	IdempotencyKey string
	// Customer is the gateway customer id, optional ([PaymentMethod.Customer]).
	Customer string
	// AttemptID is Tollgate's id of the charge attempt, sent as metadata
	// [MetadataAttemptID] where the gateway keeps metadata (Stripe), so
	// staff can find the charge of an attempt at the gateway.
	AttemptID string
}

// MetadataAttemptID is the metadata key under which a charge carries
// Tollgate's attempt id.
const MetadataAttemptID = "tollgate_attempt_id"

// ChargeStatus is the outcome of a charge.
type ChargeStatus string

// Charge statuses.
const (
	ChargeSucceeded ChargeStatus = "succeeded"
	ChargeFailed    ChargeStatus = "failed"
	// ChargePending means the processor accepted the charge but has not
	// settled it (ACH debits take days); the outcome arrives later as a
	// charge.succeeded or charge.failed webhook event.
	ChargePending ChargeStatus = "pending"
)

// Failure codes of a failed [Charge]. The first five are what the card test
// numbers produce; the vocabulary is Stripe's.
const (
	FailureCardDeclined           = "card_declined"
	FailureInsufficientFunds      = "insufficient_funds"
	FailureExpiredCard            = "expired_card"
	FailureProcessingError        = "processing_error"
	FailureIncorrectCVC           = "incorrect_cvc"
	FailureAccountClosed          = "account_closed"          // ACH
	FailureAuthenticationRequired = "authentication_required" // 3-D Secure needed; off-session charges cannot do it
)

// Charge is the result of [Gateway.Charge].
type Charge struct {
	// ID is the gateway's id for the charge, used for refunds and matched
	// against [Event.ChargeID] ("ch_sandbox_…"; for Stripe the PaymentIntent
	// "pi_…"). Failed charges have ids too.
	ID     string       `json:"id"`
	Status ChargeStatus `json:"status"`
	// FailureCode is one of the Failure… constants when Status is failed.
	FailureCode string `json:"failure_code,omitempty"`
	// FailureMessage is the processor's explanation, fit to show a
	// subscriber ("Your card has insufficient funds.").
	FailureMessage string `json:"failure_message,omitempty"`
}

// MetadataRefundID is the metadata key under which a refund carries
// Tollgate's own refund id, so that a refund whose outcome was lost (a crash
// between the gateway's answer and the journal write) can be found again by
// listing the charge's refunds ([Gateway.ListRefunds]): Stripe cannot look
// a refund up by its idempotency key.
const MetadataRefundID = "tollgate_refund_id"

// RefundRequest asks a gateway to pay back (part of) a charge.
type RefundRequest struct {
	// ChargeID is the [Charge.ID] of a succeeded charge.
	ChargeID string
	// Amount is in minor units; 0 means everything not yet refunded.
	Amount int64
	// IdempotencyKey makes retries safe (the refund's own key, kept with
	// Tollgate's pending refund); Stripe forgets keys after about 24 hours.
	IdempotencyKey string
	// RefundID is Tollgate's id of the refund, sent as metadata
	// [MetadataRefundID] and returned in [Refund.TollgateRefundID].
	RefundID string
}

// Refund is the result of [Gateway.Refund] and an item of
// [Gateway.ListRefunds].
type Refund struct {
	ID       string `json:"id"`
	ChargeID string `json:"charge_id"`
	Amount   int64  `json:"amount"`
	// Status is the gateway's refund status: "succeeded", "pending",
	// "failed" or "canceled".
	Status string `json:"status"`
	// TollgateRefundID is the refund's metadata [MetadataRefundID], empty
	// for refunds made elsewhere (the processor's dashboard).
	TollgateRefundID string `json:"tollgate_refund_id,omitempty"`
}

// Settled reports whether the refund's money is on its way back (Stripe's
// "succeeded" or "pending"), as opposed to failed or canceled.
func (r Refund) Settled() bool { return r.Status == "succeeded" || r.Status == "pending" }

// Event types Tollgate acts on. Gateways may deliver others; callers ignore
// what they do not know.
const (
	EventChargeSucceeded      = "charge.succeeded"
	EventChargeFailed         = "charge.failed"
	EventChargeRefunded       = "charge.refunded"
	EventChargeDisputeCreated = "charge.dispute.created"
	// Asynchronous payments (PaymentIntents; see asyncevents.go).
	EventPaymentIntentProcessing    = "payment_intent.processing"
	EventPaymentIntentSucceeded     = "payment_intent.succeeded"
	EventPaymentIntentPaymentFailed = "payment_intent.payment_failed"
	EventChargeDisputeClosed        = "charge.dispute.closed"
)

// Event is a verified webhook delivery.
type Event struct {
	// ID is the gateway's event id; deliveries are at least once, so the
	// store deduplicates on it.
	ID   string `json:"id"`
	Type string `json:"type"`
	// ChargeID matches [Charge.ID] of the charge the event is about.
	ChargeID string `json:"charge_id"`
	// Amount is the charge amount; for charge.refunded the total refunded so
	// far; for charge.dispute.created the disputed amount.
	Amount  int64     `json:"amount"`
	Created time.Time `json:"created"`
	// AttemptID is the object's metadata [MetadataAttemptID], if any.
	AttemptID string `json:"attempt_id,omitempty"`
	// FailureCode and FailureMessage explain a failure (charge.failed: an
	// ACH return's code, "R01"; payment_intent.payment_failed: the try's
	// decline code).
	FailureCode    string `json:"failure_code,omitempty"`
	FailureMessage string `json:"failure_message,omitempty"`
	// DisputeStatus is a dispute's status (charge.dispute.closed: won,
	// lost).
	DisputeStatus string `json:"dispute_status,omitempty"`
	// Refunds are a charge's refunds when the event lists them
	// (charge.refunded), nil when it does not (a pointer keeps Event
	// comparable).
	Refunds *[]Refund `json:"refunds,omitempty"`
}

// Gateway is a payment processor. Implementations are safe for concurrent
// use. Errors carry [billing.Code]s as described on each method; any other
// error is transport or processor trouble, and the call may be retried with
// the same idempotency key.
type Gateway interface {
	// Name is a short stable name for logs and storage ("sandbox", "stripe").
	Name() string

	// Charge takes req.Amount from the method req.Token. A declined charge is
	// (Charge{Status: ChargeFailed, FailureCode: …}, nil); a malformed
	// request (no token, non-positive amount, unsupported currency) is
	// EINVALID; an unknown token is ENOTFOUND; the same IdempotencyKey with
	// different parameters is ECONFLICT; transport or server trouble is any
	// other error.
	Charge(ctx context.Context, req ChargeRequest) (Charge, error)

	// Refund returns req.Amount (minor units; 0 means everything not yet
	// refunded) of a succeeded charge, carrying req.RefundID as metadata
	// [MetadataRefundID]. More than the remaining amount, a negative amount
	// or a charge that did not succeed is EINVALID; an unknown charge is
	// ENOTFOUND; the same IdempotencyKey with different parameters is
	// ECONFLICT; transport or server trouble is any other error (the refund
	// may or may not have been made: retry with the same key, or find it
	// with ListRefunds).
	Refund(ctx context.Context, req RefundRequest) (Refund, error)

	// ListRefunds returns every refund of a charge (all pages), oldest or
	// newest first as the gateway lists them. An unknown charge is
	// ENOTFOUND; transport or server trouble is any other error.
	ListRefunds(ctx context.Context, chargeID string) ([]Refund, error)

	// Payouts lists the money the gateway paid out to the ISP's bank on
	// the days from..to (inclusive, UTC), each with the charges, refunds
	// and fees it nets (payouts.go). A period with to before from is
	// EINVALID; transport or server trouble is any other error.
	Payouts(ctx context.Context, from, to billing.Date) ([]Payout, error)

	// ParseWebhook verifies a delivery's signature header against the raw
	// body and returns the event. A missing, malformed, mismatching or
	// out-of-tolerance signature is EUNAUTHORIZED (a *webhooksig.Error that
	// matches one of its sentinels with errors.Is); a verified body that is
	// not an event is EINVALID; no configured secret is webhooksig.ErrNoSecret
	// (EINTERNAL).
	ParseWebhook(payload []byte, signatureHeader string, now time.Time) (Event, error)

	// IntentGateway: the browser flows (intent.go) — the processor's
	// fields give the page a method id; the server creates and confirms
	// intents with it.
	IntentGateway
}

var (
	_ Gateway = (*Sandbox)(nil)
	_ Gateway = (*Stripe)(nil)
)
