package payments

import (
	"context"
	"errors"
	"strings"

	"github.com/stripe/stripe-go/v85"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Stripe's intents (intent.go): PaymentIntents and SetupIntents for card
// and US bank account (us_bank_account) methods that Stripe's Payment
// Element created in the browser. The server creates and confirms them
// with the method id and a return URL; 3-D Secure (redirect_to_url) and
// ACH micro-deposit verification (verify_with_microdeposits) come back as
// Intent.NextActionURL.

// stripeMethodTypes are the method types the Payment Element offers and the
// intents accept.
var stripeMethodTypes = []*string{stripe.String("card"), stripe.String("us_bank_account")}

// RetrievePaymentMethod reads a method's brand, last 4 and expiry (or
// bank and last 4); see [IntentGateway].
func (s *Stripe) RetrievePaymentMethod(ctx context.Context, id string) (PaymentMethod, error) {
	if err := checkMethodID("payment method", id); err != nil {
		return PaymentMethod{}, err
	}
	pm, err := s.client.V1PaymentMethods.Retrieve(ctx, id, nil)
	if err != nil {
		return PaymentMethod{}, stripeErr("retrieve payment method", err)
	}
	return methodFromStripe(pm), nil
}

func methodFromStripe(pm *stripe.PaymentMethod) PaymentMethod {
	if pm == nil {
		return PaymentMethod{}
	}
	out := PaymentMethod{Token: pm.ID, Kind: KindCard}
	if pm.Customer != nil {
		out.Customer = pm.Customer.ID
	}
	switch {
	case pm.Card != nil:
		out.Brand, out.Last4 = string(pm.Card.Brand), pm.Card.Last4
		out.ExpMonth, out.ExpYear = int(pm.Card.ExpMonth), int(pm.Card.ExpYear)
	case pm.USBankAccount != nil:
		out.Kind, out.Last4, out.BankName = KindBankAccount, pm.USBankAccount.Last4, pm.USBankAccount.BankName
	}
	return out
}

// CreatePaymentIntent creates an unconfirmed PaymentIntent for card and
// us_bank_account with metadata[tollgate_attempt_id]; saving for later
// sets setup_future_usage=off_session and needs a customer (one is created
// when none is given). See [IntentGateway].
func (s *Stripe) CreatePaymentIntent(ctx context.Context, req PaymentIntentRequest) (Intent, error) {
	cur, err := checkChargeRequest(ChargeRequest{Token: req.PaymentMethod, Amount: req.Amount, Currency: req.Currency, IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return Intent{}, err
	}
	customer := req.Customer
	if customer == "" && req.SaveForLater {
		cp := &stripe.CustomerCreateParams{}
		if req.IdempotencyKey != "" {
			cp.SetIdempotencyKey(req.IdempotencyKey + "/customer")
		}
		cus, err := s.client.V1Customers.Create(ctx, cp)
		if err != nil {
			return Intent{}, stripeErr("create customer", err)
		}
		customer = cus.ID
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(req.Amount),
		Currency:           stripe.String(strings.ToLower(string(cur))),
		PaymentMethod:      stripe.String(req.PaymentMethod),
		PaymentMethodTypes: stripeMethodTypes,
	}
	if customer != "" {
		params.Customer = stripe.String(customer)
	}
	if req.SaveForLater {
		params.SetupFutureUsage = stripe.String("off_session")
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	if req.AttemptID != "" {
		params.AddMetadata(MetadataAttemptID, req.AttemptID)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	pi, err := s.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return Intent{}, stripeErr("create payment intent", err)
	}
	return intentFromStripe(pi), nil
}

// ConfirmPaymentIntent confirms on session with the return URL; a decline
// is the intent back at requires_payment_method with the failure. See
// [IntentGateway].
func (s *Stripe) ConfirmPaymentIntent(ctx context.Context, id string, req ConfirmRequest) (Intent, error) {
	if err := checkMethodID("payment intent", id); err != nil {
		return Intent{}, err
	}
	params := &stripe.PaymentIntentConfirmParams{}
	if req.ReturnURL != "" {
		params.ReturnURL = stripe.String(req.ReturnURL)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	pi, err := s.client.V1PaymentIntents.Confirm(ctx, id, params)
	if err != nil {
		var se *stripe.Error
		if declined(err, &se) && se.PaymentIntent != nil {
			in := intentFromStripe(se.PaymentIntent)
			in.Status, in.FailureCode, in.FailureMessage = IntentRequiresPaymentMethod, failureCode(se), se.Msg
			return in, nil
		}
		return Intent{}, stripeErr("confirm payment intent", err)
	}
	return intentFromStripe(pi), nil
}

// CreateSetupIntent creates and confirms a SetupIntent (usage off_session)
// for the method and customer (a new customer when none is given). See
// [IntentGateway].
func (s *Stripe) CreateSetupIntent(ctx context.Context, req SetupIntentRequest) (Intent, error) {
	if err := checkMethodID("payment method", req.PaymentMethod); err != nil {
		return Intent{}, err
	}
	customer := req.Customer
	if customer == "" {
		cp := &stripe.CustomerCreateParams{}
		if req.IdempotencyKey != "" {
			cp.SetIdempotencyKey(req.IdempotencyKey + "/customer")
		}
		cus, err := s.client.V1Customers.Create(ctx, cp)
		if err != nil {
			return Intent{}, stripeErr("create customer", err)
		}
		customer = cus.ID
	}
	params := &stripe.SetupIntentCreateParams{
		Customer:           stripe.String(customer),
		PaymentMethod:      stripe.String(req.PaymentMethod),
		PaymentMethodTypes: stripeMethodTypes,
		Usage:              stripe.String("off_session"),
		Confirm:            stripe.Bool(true),
	}
	if req.ReturnURL != "" {
		params.ReturnURL = stripe.String(req.ReturnURL)
	}
	params.AddExpand("payment_method")
	if req.AccountID != "" {
		params.AddMetadata(MetadataAccountID, req.AccountID)
	}
	if req.IdempotencyKey != "" {
		params.SetIdempotencyKey(req.IdempotencyKey)
	}
	si, err := s.client.V1SetupIntents.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if declined(err, &se) && se.SetupIntent != nil {
			in := setupFromStripe(se.SetupIntent)
			in.Status, in.FailureCode, in.FailureMessage = IntentRequiresPaymentMethod, failureCode(se), se.Msg
			return in, nil
		}
		if declined(err, &se) {
			return Intent{Setup: true, Status: IntentRequiresPaymentMethod, Customer: customer, FailureCode: failureCode(se), FailureMessage: se.Msg}, nil
		}
		return Intent{}, stripeErr("create setup intent", err)
	}
	in := setupFromStripe(si)
	if in.Customer == "" {
		in.Customer = customer
	}
	return in, nil
}

// RetrieveIntent reads a PaymentIntent or SetupIntent (its method
// expanded); see [IntentGateway].
func (s *Stripe) RetrieveIntent(ctx context.Context, id string) (Intent, error) {
	if err := checkMethodID("intent", id); err != nil {
		return Intent{}, err
	}
	if IsSetupIntentID(id) {
		p := &stripe.SetupIntentRetrieveParams{}
		p.AddExpand("payment_method")
		si, err := s.client.V1SetupIntents.Retrieve(ctx, id, p)
		if err != nil {
			return Intent{}, stripeErr("retrieve setup intent", err)
		}
		return setupFromStripe(si), nil
	}
	p := &stripe.PaymentIntentRetrieveParams{}
	p.AddExpand("payment_method")
	pi, err := s.client.V1PaymentIntents.Retrieve(ctx, id, p)
	if err != nil {
		return Intent{}, stripeErr("retrieve payment intent", err)
	}
	return intentFromStripe(pi), nil
}

// declined reports whether err is a card (or bank) error.
func declined(err error, se **stripe.Error) bool {
	var e *stripe.Error
	if !errors.As(err, &e) || e.Type != stripe.ErrorTypeCard {
		return false
	}
	*se = e
	return true
}

func intentFromStripe(pi *stripe.PaymentIntent) Intent {
	in := Intent{ID: pi.ID, Status: IntentStatus(pi.Status), ClientSecret: pi.ClientSecret, Amount: pi.Amount,
		Currency: billing.Currency(strings.ToUpper(string(pi.Currency))), PaymentMethod: methodFromStripe(pi.PaymentMethod),
		AttemptID: pi.Metadata[MetadataAttemptID]}
	if pi.Customer != nil {
		in.Customer = pi.Customer.ID
	}
	if na := pi.NextAction; na != nil {
		switch {
		case na.RedirectToURL != nil:
			in.NextActionURL = na.RedirectToURL.URL
		case na.VerifyWithMicrodeposits != nil:
			in.NextActionURL = na.VerifyWithMicrodeposits.HostedVerificationURL
		}
	}
	if e := pi.LastPaymentError; e != nil && in.Status == IntentRequiresPaymentMethod {
		in.FailureCode, in.FailureMessage = failureCode(e), e.Msg
	}
	return in
}

func setupFromStripe(si *stripe.SetupIntent) Intent {
	in := Intent{ID: si.ID, Setup: true, Status: IntentStatus(si.Status), ClientSecret: si.ClientSecret,
		PaymentMethod: methodFromStripe(si.PaymentMethod), AccountID: si.Metadata[MetadataAccountID]}
	if si.Customer != nil {
		in.Customer = si.Customer.ID
	}
	if na := si.NextAction; na != nil {
		switch {
		case na.RedirectToURL != nil:
			in.NextActionURL = na.RedirectToURL.URL
		case na.VerifyWithMicrodeposits != nil:
			in.NextActionURL = na.VerifyWithMicrodeposits.HostedVerificationURL
		}
	}
	if e := si.LastSetupError; e != nil && in.Status == IntentRequiresPaymentMethod {
		in.FailureCode, in.FailureMessage = failureCode(e), e.Msg
	}
	return in
}
