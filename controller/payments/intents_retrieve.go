package payments

import (
	"context"
	"strings"

	"github.com/stripe/stripe-go/v85"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// PaymentIntent is a payment's state at its gateway, as
// [IntentRetriever.RetrievePaymentIntent] reads it: what the lost-webhook
// job (controller/jobs, "intent_reconcile") needs to settle an attempt
// whose webhook never came.
type PaymentIntent struct {
	// ID is the [Charge.ID] ("pi_…"; the sandbox's "ch_sandbox_…").
	ID string `json:"id"`
	// Status is Stripe's: processing, succeeded, requires_payment_method
	// (a try failed), requires_action, requires_confirmation,
	// requires_capture or canceled.
	Status string `json:"status"`
	Amount int64  `json:"amount"`
	// FailureCode and FailureMessage explain the last failed try.
	FailureCode    string `json:"failure_code,omitempty"`
	FailureMessage string `json:"failure_message,omitempty"`
}

// IntentRetriever is implemented by gateways that can look a payment up by
// its id ([Sandbox], [Stripe]). Kept apart from [Gateway] until the
// browser-capture work adds intents to it (issue 19, part A).
type IntentRetriever interface {
	// RetrievePaymentIntent returns the payment id is. An unknown id is
	// ENOTFOUND; transport or server trouble is any other error.
	RetrievePaymentIntent(ctx context.Context, id string) (PaymentIntent, error)
}

var (
	_ IntentRetriever = (*Sandbox)(nil)
	_ IntentRetriever = (*Stripe)(nil)
)

// NewsOfIntent says what a retrieved intent's state means for its charge
// ([billing.PlanGatewayEvent] decides what that does), false for a state
// that settles nothing yet (awaiting confirmation or authentication).
func NewsOfIntent(pi PaymentIntent) (billing.GatewayEvent, bool) {
	news := billing.GatewayEvent{Reason: pi.FailureCode, Message: pi.FailureMessage}
	switch pi.Status {
	case string(stripe.PaymentIntentStatusSucceeded):
		news.Kind = billing.GatewaySucceeded
	case string(stripe.PaymentIntentStatusProcessing):
		news.Kind = billing.GatewayProcessing
	case string(stripe.PaymentIntentStatusCanceled):
		news.Kind = billing.GatewayFailed
	case string(stripe.PaymentIntentStatusRequiresPaymentMethod):
		// A try failed (or none was made): only a failure the intent
		// reports settles the attempt; the subscriber may still retry.
		if pi.FailureCode == "" {
			return news, false
		}
		news.Kind = billing.GatewayFailed
	default:
		return news, false
	}
	return news, true
}

// RetrievePaymentIntent looks a PaymentIntent up ("pi_…"); see
// [IntentRetriever].
func (s *Stripe) RetrievePaymentIntent(ctx context.Context, id string) (PaymentIntent, error) {
	if !strings.HasPrefix(id, "pi_") {
		return PaymentIntent{}, billing.Errorf(billing.ENOTFOUND, "stripe: %s is not a PaymentIntent id", describeID(id))
	}
	pi, err := s.client.V1PaymentIntents.Retrieve(ctx, id, nil)
	if err != nil {
		return PaymentIntent{}, stripeErr("retrieve payment intent", err)
	}
	out := PaymentIntent{ID: pi.ID, Status: string(pi.Status), Amount: pi.Amount}
	if e := pi.LastPaymentError; e != nil {
		out.FailureCode, out.FailureMessage = cmpOr(string(e.DeclineCode), string(e.Code)), e.Msg
	}
	return out, nil
}

// RetrievePaymentIntent returns a sandbox charge's state as an intent's:
// the sandbox settles every charge at once, so it is succeeded or (a
// decline) requires_payment_method with the failure; see [IntentRetriever].
func (s *Sandbox) RetrievePaymentIntent(ctx context.Context, id string) (PaymentIntent, error) {
	if err := ctx.Err(); err != nil {
		return PaymentIntent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.st.Charges[id]
	if !ok {
		return PaymentIntent{}, billing.Errorf(billing.ENOTFOUND, "charge %s does not exist", describeID(id))
	}
	pi := PaymentIntent{ID: id, Status: string(stripe.PaymentIntentStatusSucceeded), Amount: ch.Amount}
	switch ch.Charge.Status {
	case ChargeFailed:
		pi.Status, pi.FailureCode, pi.FailureMessage = string(stripe.PaymentIntentStatusRequiresPaymentMethod), ch.Charge.FailureCode, ch.Charge.FailureMessage
	case ChargePending:
		pi.Status = string(stripe.PaymentIntentStatusProcessing)
	}
	return pi, nil
}

// IntentNews asks a gateway about a payment for the lost-webhook job
// (controller/jobs IntentLookup).
type IntentNews struct{ Retriever IntentRetriever }

// LookUpIntent retrieves the payment chargeID and says what its state
// means ([NewsOfIntent]).
func (n IntentNews) LookUpIntent(ctx context.Context, chargeID string) (billing.GatewayEvent, bool, error) {
	pi, err := n.Retriever.RetrievePaymentIntent(ctx, chargeID)
	if err != nil {
		return billing.GatewayEvent{}, false, err
	}
	news, ok := NewsOfIntent(pi)
	return news, ok, nil
}
