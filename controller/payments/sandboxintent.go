package payments

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The sandbox's intents: PaymentIntents and SetupIntents in Stripe's shape
// (see intent.go), so that the portal, the console, the CLI and the tests
// go through the same calls with the sandbox as with Stripe. A card that
// needs 3-D Secure (4000 0027 6000 3184, pm_card_authenticationRequired)
// answers requires_action with a NextActionURL on the sandbox's browser
// origin ([Sandbox.ElementsHandler]), whose page lets the tester approve or
// fail the authentication and then sends the browser to the return URL.

type sandboxIntent struct {
	Intent    Intent `json:"intent"`
	ReturnURL string `json:"return_url,omitempty"`
	// Request is the creating request's fingerprint, for idempotency.
	Request string `json:"request"`
}

// SetElementsURL sets the public base URL of the sandbox's browser origin
// ("http://127.0.0.1:8091"), where NextActionURL points.
func (s *Sandbox) SetElementsURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.elementsURL = strings.TrimRight(u, "/")
}

// method finds a method by token; one of Stripe's test method ids
// ([TestPaymentMethods]) becomes a new method, as it does at Stripe. The
// caller holds s.mu and saves.
func (s *Sandbox) method(token string) (*sandboxMethod, error) {
	if m, ok := s.st.Methods[token]; ok {
		return m, nil
	}
	number, ok := TestPaymentMethods[token]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "payment method %s does not exist", describeID(token))
	}
	y := s.clock.Now().Year() + 3
	pm := PaymentMethod{Token: newID("pm_sandbox_"), Kind: KindCard, ExpMonth: 12, ExpYear: y}
	m := &sandboxMethod{}
	if number == "" { // pm_usBankAccount
		pm.Kind, pm.Last4, pm.BankName, pm.ExpMonth, pm.ExpYear = KindBankAccount, SandboxAccountSucceeds[len(SandboxAccountSucceeds)-4:], sandboxBankName, 0, 0
	} else {
		pm.Brand, pm.Last4 = cardBrand(number), number[len(number)-4:]
		m.Failure, m.Auth = sandboxCards[number], sandboxAuthCards[number]
	}
	m.PM = pm
	s.st.Methods[pm.Token] = m
	return m, nil
}

// RetrievePaymentMethod returns a sandbox method (a test id becomes a new
// method); see [IntentGateway].
func (s *Sandbox) RetrievePaymentMethod(ctx context.Context, id string) (PaymentMethod, error) {
	if err := ctx.Err(); err != nil {
		return PaymentMethod{}, err
	}
	if err := checkMethodID("payment method", id); err != nil {
		return PaymentMethod{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.method(id)
	if err != nil {
		return PaymentMethod{}, err
	}
	return m.PM, s.save()
}

// CreatePaymentIntent creates an unconfirmed sandbox PaymentIntent; see
// [IntentGateway].
func (s *Sandbox) CreatePaymentIntent(ctx context.Context, req PaymentIntentRequest) (Intent, error) {
	if err := ctx.Err(); err != nil {
		return Intent{}, err
	}
	cur, err := checkChargeRequest(ChargeRequest{Token: req.PaymentMethod, Amount: req.Amount, Currency: req.Currency, IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return Intent{}, err
	}
	fp := fmt.Sprintf("pi\x00%s\x00%d\x00%s\x00%s\x00%t\x00%s", req.PaymentMethod, req.Amount, cur, req.Customer, req.SaveForLater, req.AttemptID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok, err := s.replayIntent(req.IdempotencyKey, fp); ok || err != nil {
		return in, err
	}
	m, err := s.method(req.PaymentMethod)
	if err != nil {
		return Intent{}, err
	}
	if req.Customer != "" && m.PM.Customer != "" && req.Customer != m.PM.Customer {
		return Intent{}, billing.Errorf(billing.EINVALID, "payment method %s belongs to another customer", describeID(req.PaymentMethod))
	}
	customer := req.Customer
	if customer == "" && req.SaveForLater {
		customer = m.PM.Customer
		if customer == "" {
			customer = newID("cus_sandbox_")
		}
	}
	id := newID("pi_sandbox_")
	in := Intent{ID: id, Status: IntentRequiresConfirmation, ClientSecret: id + "_secret_" + newID(""), Amount: req.Amount,
		Currency: cur, Customer: customer, PaymentMethod: m.PM, AttemptID: req.AttemptID}
	if req.SaveForLater {
		m.PM.Customer = customer
		in.PaymentMethod = m.PM
	}
	s.st.Intents[id] = &sandboxIntent{Intent: in, Request: fp}
	s.rememberIntentKey(req.IdempotencyKey, fp, id)
	if err := s.save(); err != nil {
		return Intent{}, err
	}
	s.log.InfoContext(ctx, "sandbox: payment intent", "intent", id, "amount", req.Amount, "tollgate_attempt_id", req.AttemptID)
	return in, nil
}

// replayIntent answers a request whose key was seen: the intent as it is
// now, or ECONFLICT for other parameters. The caller holds s.mu.
func (s *Sandbox) replayIntent(key, fp string) (Intent, bool, error) {
	if key == "" {
		return Intent{}, false, nil
	}
	saved, ok := s.st.Idem[key]
	if !ok {
		return Intent{}, false, nil
	}
	request, intentID, found := strings.Cut(saved.Request, "\x00intent=")
	if !found || request != fp {
		return Intent{}, true, errKeyReused(key)
	}
	if si, ok := s.st.Intents[intentID]; ok {
		return si.Intent, true, nil
	}
	return Intent{}, true, errKeyReused(key)
}

func (s *Sandbox) rememberIntentKey(key, fp, intentID string) {
	if key != "" {
		s.st.Idem[key] = sandboxIdem{Request: fp + "\x00intent=" + intentID}
	}
}

// ConfirmPaymentIntent confirms a sandbox PaymentIntent on session: a
// card that needs 3-D Secure answers requires_action with NextActionURL;
// a declined card requires_payment_method with the failure; otherwise it
// succeeds, and its id is a charge that can be refunded. Confirming an
// intent that is no longer awaiting confirmation answers it as it is.
func (s *Sandbox) ConfirmPaymentIntent(ctx context.Context, id string, req ConfirmRequest) (Intent, error) {
	if err := ctx.Err(); err != nil {
		return Intent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.st.Intents[id]
	if !ok || si.Intent.Setup {
		return Intent{}, billing.Errorf(billing.ENOTFOUND, "payment intent %s does not exist", describeID(id))
	}
	if si.Intent.Status != IntentRequiresConfirmation {
		return si.Intent, nil
	}
	m, err := s.method(si.Intent.PaymentMethod.Token)
	if err != nil {
		return Intent{}, err
	}
	si.ReturnURL = req.ReturnURL
	s.confirm(si, m)
	if err := s.save(); err != nil {
		return Intent{}, err
	}
	s.log.InfoContext(ctx, "sandbox: payment intent confirmed", "intent", id, "status", string(si.Intent.Status), "failure_code", si.Intent.FailureCode)
	return si.Intent, nil
}

// confirm sets a confirmed intent's outcome from its method. The caller
// holds s.mu and saves.
func (s *Sandbox) confirm(si *sandboxIntent, m *sandboxMethod) {
	in := &si.Intent
	switch {
	case m.Failure.Code != "" && !(in.Setup && m.Failure.Code == FailureCardDeclined && m.PM.Last4 == "0341"):
		// (4000 0000 0000 0341 attaches fine and fails when charged.)
		in.Status, in.FailureCode, in.FailureMessage = IntentRequiresPaymentMethod, m.Failure.Code, m.Failure.Message
	case m.Auth:
		in.Status, in.NextActionURL = IntentRequiresAction, s.elementsURL+"/authenticate/"+url.PathEscape(in.ID)
	default:
		s.succeed(si)
	}
}

// succeed finishes an intent: a PaymentIntent's id becomes a charge, a
// SetupIntent's method is saved to its customer. The caller holds s.mu.
func (s *Sandbox) succeed(si *sandboxIntent) {
	in := &si.Intent
	in.Status, in.FailureCode, in.FailureMessage, in.NextActionURL = IntentSucceeded, "", "", ""
	if in.Setup {
		if m, ok := s.st.Methods[in.PaymentMethod.Token]; ok {
			m.PM.Customer = in.Customer
			in.PaymentMethod = m.PM
		}
		return
	}
	s.st.Charges[in.ID] = &sandboxCharge{Charge: Charge{ID: in.ID, Status: ChargeSucceeded}, Amount: in.Amount, Currency: in.Currency}
}

// CreateSetupIntent creates and confirms a sandbox SetupIntent; see
// [IntentGateway].
func (s *Sandbox) CreateSetupIntent(ctx context.Context, req SetupIntentRequest) (Intent, error) {
	if err := ctx.Err(); err != nil {
		return Intent{}, err
	}
	if err := checkMethodID("payment method", req.PaymentMethod); err != nil {
		return Intent{}, err
	}
	fp := fmt.Sprintf("seti\x00%s\x00%s\x00%s\x00%s", req.PaymentMethod, req.Customer, req.ReturnURL, req.AccountID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok, err := s.replayIntent(req.IdempotencyKey, fp); ok || err != nil {
		return in, err
	}
	m, err := s.method(req.PaymentMethod)
	if err != nil {
		return Intent{}, err
	}
	customer := req.Customer
	if customer == "" {
		customer = m.PM.Customer
	}
	if customer == "" {
		customer = newID("cus_sandbox_")
	}
	id := newID("seti_sandbox_")
	si := &sandboxIntent{Intent: Intent{ID: id, Setup: true, Status: IntentRequiresConfirmation, ClientSecret: id + "_secret_" + newID(""),
		Customer: customer, PaymentMethod: m.PM, AccountID: req.AccountID}, ReturnURL: req.ReturnURL, Request: fp}
	s.confirm(si, m)
	s.st.Intents[id] = si
	s.rememberIntentKey(req.IdempotencyKey, fp, id)
	if err := s.save(); err != nil {
		return Intent{}, err
	}
	s.log.InfoContext(ctx, "sandbox: setup intent", "intent", id, "status", string(si.Intent.Status), "failure_code", si.Intent.FailureCode)
	return si.Intent, nil
}

// RetrieveIntent reads a sandbox intent; see [IntentGateway].
func (s *Sandbox) RetrieveIntent(ctx context.Context, id string) (Intent, error) {
	if err := ctx.Err(); err != nil {
		return Intent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.st.Intents[id]
	if !ok {
		return Intent{}, billing.Errorf(billing.ENOTFOUND, "intent %s does not exist", describeID(id))
	}
	return si.Intent, nil
}

// Authenticate is the sandbox bank's 3-D Secure answer for an intent
// awaiting it (the page at NextActionURL): approved, a PaymentIntent
// succeeds and a SetupIntent saves its method; refused, the intent goes
// back to requires_payment_method with authentication_required. It returns
// the URL to send the browser to: the return URL given at confirmation
// with payment_intent= or setup_intent= and redirect_status=, as Stripe
// does. ENOTFOUND for an unknown intent; an intent not awaiting
// authentication is answered as it is.
func (s *Sandbox) Authenticate(ctx context.Context, id string, approve bool) (Intent, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.st.Intents[id]
	if !ok {
		return Intent{}, "", billing.Errorf(billing.ENOTFOUND, "intent %s does not exist", describeID(id))
	}
	if si.Intent.Status == IntentRequiresAction {
		if approve {
			s.succeed(si)
		} else {
			si.Intent.Status, si.Intent.NextActionURL = IntentRequiresPaymentMethod, ""
			si.Intent.FailureCode, si.Intent.FailureMessage = FailureAuthenticationRequired, "The cardholder did not complete the bank's authentication."
		}
		if err := s.save(); err != nil {
			return Intent{}, "", err
		}
		s.log.InfoContext(ctx, "sandbox: authentication", "intent", id, "approved", approve)
	}
	return si.Intent, returnURLFor(si), nil
}

// returnURLFor is the return URL with Stripe's query parameters.
func returnURLFor(si *sandboxIntent) string {
	if si.ReturnURL == "" {
		return ""
	}
	u, err := url.Parse(si.ReturnURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	if si.Intent.Setup {
		q.Set("setup_intent", si.Intent.ID)
	} else {
		q.Set("payment_intent", si.Intent.ID)
	}
	status := "failed"
	if si.Intent.Status == IntentSucceeded || si.Intent.Status == IntentProcessing {
		status = string(si.Intent.Status)
	}
	q.Set("redirect_status", status)
	u.RawQuery = q.Encode()
	return u.String()
}
