package payments

import (
	"context"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Intents: how a person pays or saves a method in the browser without the
// card or account number ever reaching Tollgate (PCI DSS SAQ A).
//
// The processor's own fields (Stripe's Payment Element, or the sandbox's
// iframe served from its own origin) take the card in the browser and give
// the page a payment method id ("pm_…"). The page posts only that id to
// Tollgate, which then creates and confirms an intent on the server:
//
//   - a PaymentIntent to take an amount now ([IntentGateway.CreatePaymentIntent],
//     then [IntentGateway.ConfirmPaymentIntent] with the return URL), or
//   - a SetupIntent to save the method for later, off-session charges
//     ([IntentGateway.CreateSetupIntent], confirmed at once).
//
// An intent that needs the cardholder (3-D Secure) answers
// [IntentRequiresAction] with [Intent.NextActionURL]: the browser is sent
// there, the bank's (or the sandbox's) authentication page, which sends it
// back to the return URL with ?payment_intent=… or ?setup_intent=…; the
// handler there retrieves the intent server-side ([IntentGateway.RetrieveIntent])
// and never trusts the query's status.

// IntentStatus is Stripe's intent status vocabulary.
type IntentStatus string

// Intent statuses (Stripe's).
const (
	IntentRequiresPaymentMethod IntentStatus = "requires_payment_method"
	IntentRequiresConfirmation  IntentStatus = "requires_confirmation"
	IntentRequiresAction        IntentStatus = "requires_action"
	IntentProcessing            IntentStatus = "processing"
	IntentSucceeded             IntentStatus = "succeeded"
	IntentCanceled              IntentStatus = "canceled"
)

// Intent is a PaymentIntent ("pi_…") or SetupIntent ("seti_…") as Tollgate
// needs it.
type Intent struct {
	ID string `json:"id"`
	// Setup is true for a SetupIntent.
	Setup  bool         `json:"setup,omitempty"`
	Status IntentStatus `json:"status"`
	// ClientSecret lets the browser confirm or follow the intent with the
	// processor's library; it goes to the page, never into storage or logs.
	ClientSecret string           `json:"client_secret,omitempty"`
	Amount       int64            `json:"amount,omitempty"`
	Currency     billing.Currency `json:"currency,omitempty"`
	Customer     string           `json:"customer,omitempty"`
	// PaymentMethod is the method the intent uses (token, brand, last 4),
	// when it has one.
	PaymentMethod PaymentMethod `json:"payment_method"`
	// NextActionURL is where the browser goes to authenticate when Status
	// is requires_action.
	NextActionURL string `json:"next_action_url,omitempty"`
	// AttemptID is the intent's metadata [MetadataAttemptID].
	AttemptID string `json:"tollgate_attempt_id,omitempty"`
	// AccountID is a SetupIntent's metadata [MetadataAccountID].
	AccountID string `json:"tollgate_account_id,omitempty"`
	// FailureCode and FailureMessage are the last payment error (a
	// declined card, a failed authentication), one of the Failure…
	// constants.
	FailureCode    string `json:"failure_code,omitempty"`
	FailureMessage string `json:"failure_message,omitempty"`
}

// PaymentIntentRequest creates a PaymentIntent, not yet confirmed.
type PaymentIntentRequest struct {
	Amount   int64
	Currency billing.Currency
	// PaymentMethod is the method's token ("pm_…"; Stripe's and the
	// sandbox's test ids such as "pm_card_visa" work in test mode).
	PaymentMethod string
	Customer      string
	Description   string
	// SaveForLater asks the processor to keep the method for off-session
	// charges (Stripe: setup_future_usage=off_session; needs a customer,
	// which the adapter creates when Customer is empty).
	SaveForLater bool
	// IdempotencyKey: the attempt's key; the same request again replays.
	IdempotencyKey string
	// AttemptID is sent as metadata [MetadataAttemptID].
	AttemptID string
}

// ConfirmRequest confirms a PaymentIntent on the server.
type ConfirmRequest struct {
	// ReturnURL is where the browser comes back after authenticating.
	ReturnURL      string
	IdempotencyKey string
}

// SetupIntentRequest creates and confirms a SetupIntent that saves
// PaymentMethod for off-session charges to Customer (a new customer when
// empty).
type SetupIntentRequest struct {
	// AccountID is Tollgate's account, sent as metadata
	// [MetadataAccountID], so that the return URL's handler can check the
	// intent is the account's.
	AccountID      string
	PaymentMethod  string
	Customer       string
	ReturnURL      string
	IdempotencyKey string
}

// IntentGateway is the part of a [Gateway] the browser flows use. Errors
// follow [Gateway]'s rules: EINVALID for a malformed request (a card
// number where an id belongs), ENOTFOUND for an unknown id, ECONFLICT for a
// reused key, anything else is transport trouble (retry with the same key).
// A declined card is not an error: the intent comes back
// requires_payment_method with a FailureCode.
type IntentGateway interface {
	// RetrievePaymentMethod returns what may be stored about a method
	// (brand, last 4, expiry), by the id the browser got.
	RetrievePaymentMethod(ctx context.Context, id string) (PaymentMethod, error)
	// CreatePaymentIntent creates an unconfirmed PaymentIntent.
	CreatePaymentIntent(ctx context.Context, req PaymentIntentRequest) (Intent, error)
	// ConfirmPaymentIntent confirms it, on session (the payer is there to
	// authenticate).
	ConfirmPaymentIntent(ctx context.Context, id string, req ConfirmRequest) (Intent, error)
	// CreateSetupIntent creates and confirms a SetupIntent.
	CreateSetupIntent(ctx context.Context, req SetupIntentRequest) (Intent, error)
	// RetrieveIntent reads a PaymentIntent ("pi_…") or SetupIntent
	// ("seti_…") by id.
	RetrieveIntent(ctx context.Context, id string) (Intent, error)
}

// MetadataAccountID is the metadata key under which a SetupIntent carries
// Tollgate's account id.
const MetadataAccountID = "tollgate_account_id"

// TestPaymentMethods are Stripe's test payment method ids, which Stripe in
// test mode (and stripe-mock) and the sandbox accept wherever a method id
// goes, for the CLI, the demo and tests.
var TestPaymentMethods = map[string]string{
	"pm_card_visa":                            "4242424242424242",
	"pm_card_visa_debit":                      "4000056655665556",
	"pm_card_mastercard":                      "5555555555554444",
	"pm_card_amex":                            "378282246310005",
	"pm_card_discover":                        "6011111111111117",
	"pm_card_chargeDeclined":                  "4000000000000002",
	"pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
	"pm_card_chargeDeclinedExpiredCard":       "4000000000000069",
	"pm_card_chargeDeclinedIncorrectCvc":      "4000000000000127",
	"pm_card_chargeDeclinedProcessingError":   "4000000000000119",
	"pm_card_chargeCustomerFail":              "4000000000000341",
	"pm_card_authenticationRequired":          "4000002760003184",
	"pm_usBankAccount":                        "",
}

// checkMethodID refuses an empty id and a card number pasted where a
// method id belongs (before anything is sent anywhere).
func checkMethodID(field, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return billing.Errorf(billing.EINVALID, "%s is required", field)
	case looksLikeCardNumber(id):
		return billing.Errorf(billing.EINVALID, "%s looks like a card number; card numbers go to the processor's fields, never to Tollgate", field)
	case len(id) > 255:
		return billing.Errorf(billing.EINVALID, "%s is longer than 255 characters", field)
	}
	return nil
}

// IsSetupIntentID reports whether id names a SetupIntent.
func IsSetupIntentID(id string) bool { return strings.HasPrefix(id, "seti_") }
