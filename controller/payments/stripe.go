package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// StripeConfig configures the Stripe adapter.
type StripeConfig struct {
	// APIKey is a secret ("sk_…") or restricted ("rk_…") key.
	APIKey string
	// BaseURL is the API's base URL; empty means https://api.stripe.com.
	// Tests point it at stripe-mock.
	BaseURL string
	// WebhookSecrets are the endpoint signing secrets ("whsec_…"): the
	// current one, plus the previous one while a rotation is under way.
	WebhookSecrets []string
	// WebhookTolerance is how far a webhook's timestamp may be from now;
	// zero means webhooksig.DefaultTolerance (300 s).
	WebhookTolerance time.Duration

	// HTTPClient is used for API calls; nil means stripe-go's default
	// (80 s timeout).
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go retries a request that failed
	// in transit or with 409/5xx (with the same Idempotency-Key, so retries
	// are safe); 0 means stripe-go's default (2), negative means never.
	MaxNetworkRetries int
	// Logger receives stripe-go's own log lines (requests at debug, errors
	// at warn). Nil means slog.Default(). stripe-go logs neither request
	// bodies nor, with this adapter, response bodies.
	Logger *slog.Logger
	// Clock is the adapter's time source; nil is the real clock.
	Clock clock.Clock
}

// Stripe is the [Gateway] for Stripe, through stripe-go (v85, API version
// 2026-03-25.dahlia):
//
//   - It never sees a card number: Stripe's Payment Element creates the
//     PaymentMethod in the browser; the intents (stripeintent.go) save it to
//     a Customer (SetupIntent, or setup_future_usage on a PaymentIntent) or
//     pay with it on session, 3-D Secure included.
//   - Charge creates and confirms a PaymentIntent off-session (the
//     subscriber is not present; redirects are never possible) and returns
//     the PaymentIntent id as Charge.ID; card errors become a failed Charge
//     with Stripe's code mapped onto the Failure… constants; ACH debits
//     come back pending.
//   - Refund creates a Refund for the PaymentIntent (or a "ch_…" charge)
//     with metadata[tollgate_refund_id]; ListRefunds lists a
//     PaymentIntent's (or charge's) refunds, to find one by that metadata.
//   - Every mutating call carries the caller's Idempotency-Key.
//   - ParseWebhook checks Stripe-Signature with [webhooksig.VerifyStripe], not with
//     stripe-go's webhook package, then reads the event.
//
// ACH (us_bank_account) methods need a mandate collected in the browser
// (the Payment Element with Financial Connections, confirmed by a
// SetupIntent); once saved, the "pm_…" id charges through Charge like a
// card.
type Stripe struct {
	client  *stripe.Client
	cfg     StripeConfig
	clock   clock.Clock
	secrets []string
}

// NewStripe returns a Stripe gateway. It makes no API call.
func NewStripe(cfg StripeConfig) (*Stripe, error) {
	switch {
	case cfg.APIKey == "":
		return nil, billing.Errorf(billing.EINVALID, "stripe: an API key is required")
	case strings.HasPrefix(cfg.APIKey, "pk_"):
		return nil, billing.Errorf(billing.EINVALID, "stripe: a publishable key (pk_…) cannot make server-side calls; use a secret key")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	bc := &stripe.BackendConfig{
		HTTPClient:    cfg.HTTPClient,
		LeveledLogger: stripeLogger{logger.With("gateway", "stripe")},
	}
	if cfg.BaseURL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.BaseURL, "/"))
	}
	switch {
	case cfg.MaxNetworkRetries > 0:
		bc.MaxNetworkRetries = stripe.Int64(int64(cfg.MaxNetworkRetries))
	case cfg.MaxNetworkRetries < 0:
		bc.MaxNetworkRetries = stripe.Int64(0)
	}
	s := &Stripe{
		client:  stripe.NewClient(cfg.APIKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc))),
		cfg:     cfg,
		clock:   cfg.Clock,
		secrets: append([]string(nil), cfg.WebhookSecrets...),
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	return s, nil
}

// Name returns "stripe".
func (s *Stripe) Name() string { return "stripe" }

// Charge creates and confirms an off-session PaymentIntent; see
// [Gateway.Charge].
func (s *Stripe) Charge(ctx context.Context, req ChargeRequest) (Charge, error) {
	cur, err := checkChargeRequest(req)
	if err != nil {
		return Charge{}, err
	}
	customer := req.Customer
	if customer == "" && strings.HasPrefix(req.Token, "pm_") {
		// A method saved to a customer can be charged only with that
		// customer named; find it rather than fail.
		pm, err := s.client.V1PaymentMethods.Retrieve(ctx, req.Token, nil)
		if err != nil {
			return Charge{}, stripeErr("retrieve payment method", err)
		}
		if pm.Customer != nil {
			customer = pm.Customer.ID
		}
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:        stripe.Int64(req.Amount),
		Currency:      stripe.String(strings.ToLower(string(cur))),
		PaymentMethod: stripe.String(req.Token),
		Confirm:       stripe.Bool(true),
		OffSession:    stripe.Bool(true),
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled:        stripe.Bool(true),
			AllowRedirects: stripe.String("never"),
		},
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	if customer != "" {
		params.Customer = stripe.String(customer)
	}
	if req.AttemptID != "" {
		params.AddMetadata(MetadataAttemptID, req.AttemptID)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	pi, err := s.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
			ch := Charge{Status: ChargeFailed, FailureCode: failureCode(se), FailureMessage: se.Msg}
			if se.PaymentIntent != nil {
				ch.ID = se.PaymentIntent.ID
			}
			return ch, nil
		}
		return Charge{}, stripeErr("create payment intent", err)
	}
	return chargeFromIntent(pi), nil
}

// chargeFromIntent reads a confirmed PaymentIntent's outcome.
func chargeFromIntent(pi *stripe.PaymentIntent) Charge {
	ch := Charge{ID: pi.ID}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		ch.Status = ChargeSucceeded
	case stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		ch.Status = ChargePending
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		ch.Status, ch.FailureCode = ChargeFailed, FailureAuthenticationRequired
		ch.FailureMessage = "The bank asks the cardholder to authenticate this payment; it cannot be completed automatically."
	default: // requires_payment_method, canceled
		ch.Status, ch.FailureCode = ChargeFailed, FailureProcessingError
		if e := pi.LastPaymentError; e != nil {
			ch.FailureCode, ch.FailureMessage = failureCode(e), e.Msg
		}
	}
	return ch
}

// failureCode maps a Stripe payment error onto the Failure… constants.
func failureCode(e *stripe.Error) string {
	switch {
	case e.DeclineCode == stripe.DeclineCodeInsufficientFunds || string(e.Code) == FailureInsufficientFunds:
		return FailureInsufficientFunds
	case e.Code == stripe.ErrorCodeExpiredCard || string(e.DeclineCode) == FailureExpiredCard:
		return FailureExpiredCard
	case e.Code == stripe.ErrorCodeIncorrectCVC || e.Code == stripe.ErrorCodeInvalidCVC || string(e.DeclineCode) == FailureIncorrectCVC:
		return FailureIncorrectCVC
	case e.Code == stripe.ErrorCodeProcessingError || string(e.DeclineCode) == FailureProcessingError:
		return FailureProcessingError
	case e.Code == stripe.ErrorCodeAuthenticationRequired || string(e.DeclineCode) == FailureAuthenticationRequired:
		return FailureAuthenticationRequired
	case e.Code == stripe.ErrorCodeAccountClosed || string(e.DeclineCode) == FailureAccountClosed:
		return FailureAccountClosed
	case e.Type == stripe.ErrorTypeCard || e.Code == stripe.ErrorCodeCardDeclined:
		return FailureCardDeclined
	default:
		return FailureProcessingError
	}
}

// Refund refunds a PaymentIntent ("pi_…") or charge ("ch_…") with
// metadata[tollgate_refund_id] set; see [Gateway.Refund].
func (s *Stripe) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	if err := checkRefundRequest(req); err != nil {
		return Refund{}, err
	}
	params := &stripe.RefundCreateParams{}
	if isStripeChargeID(req.ChargeID) {
		params.Charge = stripe.String(req.ChargeID)
	} else {
		params.PaymentIntent = stripe.String(req.ChargeID)
	}
	if req.Amount > 0 {
		params.Amount = stripe.Int64(req.Amount)
	}
	if req.RefundID != "" {
		params.AddMetadata(MetadataRefundID, req.RefundID)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	r, err := s.client.V1Refunds.Create(ctx, params)
	if err != nil {
		return Refund{}, stripeErr("create refund", err)
	}
	out := refundFromStripe(r)
	out.ChargeID = req.ChargeID
	return out, nil
}

// ListRefunds lists the refunds of a PaymentIntent or charge (GET
// /v1/refunds?payment_intent=… or ?charge=…, every page); see
// [Gateway.ListRefunds].
func (s *Stripe) ListRefunds(ctx context.Context, chargeID string) ([]Refund, error) {
	switch {
	case chargeID == "":
		return nil, billing.Errorf(billing.EINVALID, "charge id is required")
	case looksLikeCardNumber(chargeID):
		return nil, billing.Errorf(billing.EINVALID, "charge id looks like a card number")
	}
	params := &stripe.RefundListParams{}
	if isStripeChargeID(chargeID) {
		params.Charge = stripe.String(chargeID)
	} else {
		params.PaymentIntent = stripe.String(chargeID)
	}
	params.Limit = stripe.Int64(100)
	var out []Refund
	for r, err := range s.client.V1Refunds.List(ctx, params).All(ctx) {
		if err != nil {
			return nil, stripeErr("list refunds", err)
		}
		rf := refundFromStripe(r)
		rf.ChargeID = chargeID
		out = append(out, rf)
	}
	return out, nil
}

func isStripeChargeID(id string) bool {
	return strings.HasPrefix(id, "ch_") || strings.HasPrefix(id, "py_")
}

func refundFromStripe(r *stripe.Refund) Refund {
	return Refund{ID: r.ID, Amount: r.Amount, Status: string(r.Status), TollgateRefundID: r.Metadata[MetadataRefundID]}
}

// checkRefundRequest validates what both gateways need before refunding.
func checkRefundRequest(req RefundRequest) error {
	switch {
	case req.ChargeID == "":
		return billing.Errorf(billing.EINVALID, "charge id is required")
	case looksLikeCardNumber(req.ChargeID):
		return billing.Errorf(billing.EINVALID, "charge id looks like a card number")
	case req.Amount < 0:
		return billing.Errorf(billing.EINVALID, "refund amount must not be negative")
	case req.Amount > maxChargeAmount:
		return billing.Errorf(billing.EINVALID, "refund amount %d is more than the processor's limit of %d minor units", req.Amount, maxChargeAmount)
	case len(req.IdempotencyKey) > maxIdempotencyKey:
		return billing.Errorf(billing.EINVALID, "idempotency key is longer than %d characters", maxIdempotencyKey)
	case len(req.RefundID) > 500:
		return billing.Errorf(billing.EINVALID, "refund id is longer than 500 characters")
	}
	return nil
}

// ParseWebhook verifies the Stripe-Signature header against the configured
// secrets and reads the event; see [Gateway.ParseWebhook].
func (s *Stripe) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (Event, error) {
	if err := webhooksig.VerifyStripe(payload, signatureHeader, s.secrets, now, s.cfg.WebhookTolerance); err != nil {
		return Event{}, err
	}
	return decodeEvent(payload)
}

// stripeErr maps an error from a Stripe call that is not a card decline:
// the caller's mistakes get billing codes; everything else (network, 5xx,
// rate limits, a rejected API key) is a *StripeError, which callers see as
// EINTERNAL.
func stripeErr(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("stripe: %s: %w", op, err)
	}
	switch {
	case se.Type == stripe.ErrorTypeIdempotency:
		// The same key with different parameters.
		return billing.Errorf(billing.ECONFLICT, "stripe: %s", se.Msg)
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden,
		se.HTTPStatusCode == http.StatusTooManyRequests || se.Code == stripe.ErrorCodeRateLimit || se.Type == stripe.ErrorTypeRateLimit,
		se.HTTPStatusCode == http.StatusConflict || se.Code == stripe.ErrorCodeIdempotencyKeyInUse,
		se.HTTPStatusCode >= 500:
		// A key Stripe refuses, rate limiting, a concurrent request with the
		// same key still running, Stripe's own trouble: retry later with
		// the same key.
		return &StripeError{Op: op, Err: se}
	case se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing:
		return billing.Errorf(billing.ENOTFOUND, "stripe: %s", se.Msg)
	case se.Type == stripe.ErrorTypeInvalidRequest || se.Type == stripe.ErrorTypeCard:
		return billing.Errorf(billing.EINVALID, "stripe: %s", se.Msg)
	default:
		return &StripeError{Op: op, Err: se}
	}
}

// StripeError is Stripe trouble that is not the caller's fault: a server
// error, rate limiting, or an API key Stripe refuses. Err is stripe-go's
// error, for errors.As.
type StripeError struct {
	Op  string
	Err *stripe.Error
}

func (e *StripeError) Error() string {
	msg := fmt.Sprintf("stripe: %s: HTTP %d %s", e.Op, e.Err.HTTPStatusCode, e.Err.Type)
	if e.Err.Code != "" {
		msg += " (" + string(e.Err.Code) + ")"
	}
	if e.Err.Msg != "" {
		msg += ": " + e.Err.Msg
	}
	if e.Err.RequestID != "" {
		msg += " [request " + e.Err.RequestID + "]"
	}
	return msg
}

func (e *StripeError) Unwrap() error { return e.Err }

// stripeLogger sends stripe-go's log lines to slog. Debug lines are dropped:
// stripe-go logs whole response bodies at debug level, and those hold
// customers' billing details.
type stripeLogger struct{ l *slog.Logger }

func (stripeLogger) Debugf(string, ...any)       {}
func (s stripeLogger) Infof(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s stripeLogger) Warnf(f string, v ...any)  { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s stripeLogger) Errorf(f string, v ...any) { s.l.Warn(fmt.Sprintf(f, v...)) }
