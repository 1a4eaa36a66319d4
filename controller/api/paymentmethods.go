package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// MethodStore is what the payment-method endpoints need besides charging.
type MethodStore interface {
	// PaymentMethods lists an account's methods on file, default first; no
	// coded errors (an unknown account has none).
	PaymentMethods(ctx context.Context, accountID int64) ([]billing.StoredMethod, error)
	// RemovePaymentMethod removes a method (removing the default turns
	// autopay off): ENOTFOUND if it is not the account's.
	RemovePaymentMethod(ctx context.Context, accountID, id int64, at time.Time) error
	// SetDefaultPaymentMethod makes a method the account's default:
	// ENOTFOUND if it is not the account's.
	SetDefaultPaymentMethod(ctx context.Context, accountID, id int64) error
	// SetAutopay turns autopay on or off: EINVALID to turn it on without a
	// default method, ENOTFOUND for an unknown account.
	SetAutopay(ctx context.Context, accountID int64, on bool, at time.Time) error
	// PaymentAttempts lists an account's gateway attempts, newest first; no
	// coded errors.
	PaymentAttempts(ctx context.Context, accountID int64) ([]billing.PaymentAttempt, error)
	// RecordWebhookEvent remembers a gateway webhook delivery, false when
	// it was seen before; no coded errors.
	RecordWebhookEvent(ctx context.Context, gateway, eventID, typ string, at time.Time) (bool, error)
	// ForgetWebhookEvent forgets a delivery whose action failed, so the
	// redelivery is acted on; no coded errors.
	ForgetWebhookEvent(ctx context.Context, gateway, eventID string) error
	// ApplyGatewayNews applies what a gateway reports about a charge (found
	// by chargeID, else attemptID) as billing.PlanGatewayEvent decides, in
	// one transaction, and returns the plan; an uncoded error while a
	// reversal waits for a refund in progress.
	ApplyGatewayNews(ctx context.Context, gateway, chargeID, attemptID string, news billing.GatewayEvent, now time.Time) (billing.GatewayPlan, error)
}

// MethodPath is {id}/payment-methods/{method}; exported for huma.
type MethodPath struct {
	ID       int64 `path:"id" minimum:"1"`
	MethodID int64 `path:"method" minimum:"1"`
}

type newMethodInput struct {
	IDPath
	Body struct {
		payments.PaymentMethod
		// Default makes it the account's default method.
		Default bool `json:"default,omitempty"`
	}
}

func (s *Server) registerPaymentMethods() {
	api := s.api
	huma.Register(api, op("add-payment-method", http.MethodPost, "/api/v1/accounts/{id}/payment-methods",
		"Put a payment method on file: a token from the payment processor (never a card number), with brand, last 4 and expiry", RoleBilling, "payment methods"),
		func(ctx context.Context, in *newMethodInput) (*body[billing.StoredMethod], error) {
			m, err := s.charger.AddToken(ctx, in.ID, in.Body.PaymentMethod, in.Body.Default)
			return wrap(s, "add-payment-method", m, err)
		})
	huma.Register(api, op("list-payment-methods", http.MethodGet, "/api/v1/accounts/{id}/payment-methods",
		"List an account's payment methods on file (failing ones say why)", RoleReader, "payment methods"),
		func(ctx context.Context, in *IDPath) (*body[page[billing.StoredMethod]], error) {
			ms, err := s.methods.PaymentMethods(ctx, in.ID)
			return wrap(s, "list-payment-methods", newPage(ms, 0, func(m billing.StoredMethod) int64 { return m.ID }), err)
		})
	huma.Register(api, op("remove-payment-method", http.MethodDelete, "/api/v1/accounts/{id}/payment-methods/{method}",
		"Remove a payment method (removing the default turns autopay off)", RoleBilling, "payment methods"),
		func(ctx context.Context, in *MethodPath) (*struct{}, error) {
			if err := s.methods.RemovePaymentMethod(ctx, in.ID, in.MethodID, s.clock.Now()); err != nil {
				return nil, s.toHTTPError("remove-payment-method", err)
			}
			return &struct{}{}, nil
		})
	huma.Register(api, op("set-default-payment-method", http.MethodPost, "/api/v1/accounts/{id}/payment-methods/{method}/default",
		"Make a payment method the account's default", RoleBilling, "payment methods"),
		func(ctx context.Context, in *MethodPath) (*struct{}, error) {
			if err := s.methods.SetDefaultPaymentMethod(ctx, in.ID, in.MethodID); err != nil {
				return nil, s.toHTTPError("set-default-payment-method", err)
			}
			return &struct{}{}, nil
		})
	huma.Register(api, op("set-autopay", http.MethodPut, "/api/v1/accounts/{id}/autopay",
		"Turn autopay on (needs a default method) or off. Autopay charges the invoices due from the day it is turned on (the account type's local date), each on its due date; it charges nothing at once, and an invoice already past due then is not charged by it", RoleBilling, "payment methods"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Enabled bool `json:"enabled" required:"true"`
			}
		}) (*struct{}, error) {
			if err := s.methods.SetAutopay(ctx, in.ID, in.Body.Enabled, s.clock.Now()); err != nil {
				return nil, s.toHTTPError("set-autopay", err)
			}
			return &struct{}{}, nil
		})
	huma.Register(api, op("charge-payment-method", http.MethodPost, "/api/v1/accounts/{id}/gateway-payments",
		"Charge a payment method on file through the gateway; a success posts the payment, a decline is recorded and reported", RoleBilling, "payment methods"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Amount          amountField     `json:"amount" required:"true"`
				PaymentMethodID int64           `json:"payment_method_id,omitempty" doc:"Default: the account's default method."`
				ApplyTo         []applyToChoice `json:"apply_to,omitempty" maxItems:"100" doc:"Invoices the payment pays first, as far as they are still open when the charge succeeds; the rest pays the oldest."`
			}
		}) (*body[billing.PaymentAttempt], error) {
			amount, err := s.accountAmount(ctx, "charge-payment-method", "body.amount", in.ID, in.Body.Amount)
			if err != nil {
				return nil, err
			}
			applyTo, err := s.applyToChoices(ctx, "charge-payment-method", in.ID, in.Body.ApplyTo)
			if err != nil {
				return nil, err
			}
			// The request's Idempotency-Key goes to the gateway too, so a retry
			// can never charge twice.
			a, err := s.charger.ChargeApplied(ctx, in.ID, in.Body.PaymentMethodID, amount, idempotencyKeyFrom(ctx), applyTo)
			if errors.Is(err, charge.ErrChargeUnsettled) {
				s.log.Warn("charge left pending", "account_id", in.ID, "attempt_id", a.ID, "err", err)
				return nil, huma.Error503ServiceUnavailable(fmt.Sprintf("%s (attempt %d); retry with the same Idempotency-Key, or see the account's payment attempts",
					billing.ErrorMessage(err), a.ID))
			}
			return wrap(s, "charge-payment-method", a, err)
		})
	huma.Register(api, op("list-payment-attempts", http.MethodGet, "/api/v1/accounts/{id}/payment-attempts",
		"Every gateway charge attempt of an account (autopay, portal, staff), newest first", RoleReader, "payment methods"),
		func(ctx context.Context, in *IDPath) (*body[page[billing.PaymentAttempt]], error) {
			as, err := s.methods.PaymentAttempts(ctx, in.ID)
			return wrap(s, "list-payment-attempts", newPage(as, 0, func(a billing.PaymentAttempt) int64 { return a.ID }), err)
		})

	// Webhooks: no bearer token; the gateway's signature is the credential.
	huma.Register(api, takesNoKey(huma.Operation{OperationID: "gateway-webhook", Security: signedNotBearer, Method: http.MethodPost, Path: "/api/v1/webhooks/{gateway}",
		Summary: "Payment gateway webhook deliveries, verified by signature (HMAC-SHA256, 300 s tolerance) and deduplicated by event id",
		Description: "Stripe-Signature carries t=<Unix seconds>,v1=<hex signature> (more v1 during the gateway's own rotation). " +
			webhookSignatureDoc + " Also 400: a verified body that is not an event; 404: no such gateway.",
		Tags: []string{"payment methods"}, Errors: []int{http.StatusBadRequest, http.StatusNotFound}}),
		func(ctx context.Context, in *struct {
			Gateway   string `path:"gateway"`
			Signature string `header:"Stripe-Signature"`
			RawBody   []byte
		}) (*body[map[string]any], error) {
			gw := s.charger.Gateway()
			if in.Gateway != gw.Name() {
				return nil, huma.Error404NotFound("no gateway " + in.Gateway + " is configured")
			}
			ev, err := gw.ParseWebhook(in.RawBody, in.Signature, s.clock.Now())
			if mapped, ok := s.webhookSignatureError("gateway-webhook", "payments.webhook_secrets_file or TOLLGATE_WEBHOOK_SECRETS", err); ok {
				return nil, mapped
			}
			if err != nil {
				return nil, huma.Error400BadRequest("webhook rejected: " + billing.ErrorMessage(err))
			}
			fresh, err := s.methods.RecordWebhookEvent(ctx, gw.Name(), ev.ID, ev.Type, s.clock.Now())
			if err != nil {
				return nil, s.toHTTPError("gateway-webhook", err)
			}
			out := map[string]any{"received": true, "duplicate": !fresh}
			var actErr error
			switch {
			case !fresh:
			default:
				actErr = s.applyGatewayEvent(ctx, gw.Name(), ev, out)
			}
			if actErr != nil {
				// Forget the event, so that the gateway's redelivery acts.
				if err := s.methods.ForgetWebhookEvent(context.WithoutCancel(ctx), gw.Name(), ev.ID); err != nil {
					s.log.Error("forget webhook event", "event_id", ev.ID, "err", err)
				}
				return nil, s.toHTTPError("gateway-webhook", actErr)
			}
			s.log.Info("gateway webhook", "gateway", gw.Name(), "event_id", ev.ID, "type", ev.Type, "duplicate", !fresh)
			return &body[map[string]any]{Body: out}, nil
		})

	s.registerPaymentSetup()
}
