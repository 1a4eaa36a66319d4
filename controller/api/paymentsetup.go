package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// setupResult is what saving a processor's payment method came to.
type setupResult struct {
	// Status is the SetupIntent's: succeeded (Method is on file),
	// requires_action (the cardholder must authenticate at NextActionURL
	// first; nothing is stored yet) or processing.
	Status payments.IntentStatus `json:"status"`
	// SetupIntent is the processor's SetupIntent id ("seti_…").
	SetupIntent   string                `json:"setup_intent"`
	Method        *billing.StoredMethod `json:"method,omitempty"`
	NextActionURL string                `json:"next_action_url,omitempty"`
}

// registerPaymentSetup serves saving a method the processor's own fields
// created in a browser (Stripe's Payment Element, the sandbox's iframe) —
// or, in test mode, one of Stripe's test method ids such as pm_card_visa —
// through a SetupIntent. No card number is ever sent to this API.
func (s *Server) registerPaymentSetup() {
	huma.Register(s.api, op("setup-payment-method", http.MethodPost, "/api/v1/accounts/{id}/payment-methods/setup",
		"Save a payment method the processor created in the browser (its id, pm_…; test mode also takes Stripe's test ids such as pm_card_visa) through a SetupIntent, and put it on file; a card whose bank asks for 3-D Secure answers requires_action with the page to authenticate at", RoleBilling, "payment methods"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				PaymentMethod string `json:"payment_method" required:"true" minLength:"1" maxLength:"255" doc:"The processor's payment method id (pm_…), never a card number."`
				Default       bool   `json:"default,omitempty" doc:"Make it the account's default method."`
				ReturnURL     string `json:"return_url,omitempty" maxLength:"2000" format:"uri" doc:"Where the processor sends the browser back after 3-D Secure."`
			}
		}) (*body[setupResult], error) {
			m, intent, err := s.charger.SaveMethod(ctx, in.ID, in.Body.PaymentMethod, in.Body.Default, in.Body.ReturnURL,
				fmt.Sprintf("api-setup:%d:%s", in.ID, idempotencyKeyFrom(ctx)))
			out := setupResult{Status: intent.Status, SetupIntent: intent.ID, NextActionURL: intent.NextActionURL}
			if m.ID != 0 {
				out.Method = &m
			}
			if err != nil && billing.ErrorCode(err) == billing.EINVALID {
				err = billing.Errorf(billing.EINVALID, "payment_method: %s", billing.ErrorMessage(err))
			}
			return wrap(s, "setup-payment-method", out, err)
		})
}
