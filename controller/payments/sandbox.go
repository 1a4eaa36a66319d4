package payments

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Sandbox is a payment gateway that behaves like a card processor's test
// mode, in memory: Stripe's test card numbers and ACH test accounts produce
// Stripe's outcomes, deterministically, and nothing leaves the process. It
// backs the demo and the tests of everything that takes payments. Safe for
// concurrent use. [NewSandbox] keeps its state in memory, lost when the
// process ends; [OpenSandbox] keeps it in a state file, and
// [Sandbox.Handler] with [NewSandboxClient] runs it in another process (see
// sandboxhttp.go).
//
// Like Stripe's test mode it refuses numbers that are not test numbers, so a
// real card typed into a sandbox-configured system is turned away rather
// than silently "charged".
//
// Cards (any future expiry, any CVC of the right length):
//
//	4242 4242 4242 4242  succeeds (also Stripe's other brand test numbers:
//	                     5555 5555 5555 4444 mastercard, 3782 822463 10005
//	                     amex, 6011 1111 1111 1117 discover, …)
//	4000 0000 0000 0002  charges fail: card_declined
//	4000 0000 0000 9995  charges fail: insufficient_funds
//	4000 0000 0000 0069  charges fail: expired_card
//	4000 0000 0000 0127  charges fail: incorrect_cvc
//	4000 0000 0000 0119  charges fail: processing_error
//	4000 0000 0000 0341  attaches fine; every later charge fails: card_declined
//
// As in Stripe, these numbers tokenize successfully and fail when charged.
// Bank accounts ([Sandbox.TokenizeBank]), routing number 110000000:
//
//	000123456789  charges succeed
//	000111111116  charges fail: account_closed
//
// ACH charges settle at once in the sandbox (Stripe's take days and report
// [ChargePending] first).
type Sandbox struct {
	mu      sync.Mutex
	secrets []string
	clock   clock.Clock
	log     *slog.Logger
	st      sandboxState
	// path is the state file ("" keeps the state in memory only).
	path string
	// elementsURL is the public base URL of the browser origin
	// (SetElementsURL).
	elementsURL string
}

// sandboxState is everything the sandbox remembers; with a state file it
// is written there (whole, atomically) before any call that changed it
// answers.
type sandboxState struct {
	Methods map[string]*sandboxMethod `json:"methods"`
	Charges map[string]*sandboxCharge `json:"charges"`
	Idem    map[string]sandboxIdem    `json:"idem"`
	// Intents are the PaymentIntents and SetupIntents (sandboxintent.go).
	Intents map[string]*sandboxIntent `json:"intents"`
	// RefundLog is every refund request received, refused ones included.
	RefundLog []SandboxRefundAttempt `json:"refund_log"`
}

type sandboxMethod struct {
	PM      PaymentMethod  `json:"pm"`
	Failure sandboxOutcome `json:"failure"` // of every charge; a zero code means charges succeed
	// Auth: the bank asks the cardholder to authenticate (3-D Secure) every
	// payment; off-session charges fail with authentication_required.
	Auth bool `json:"auth,omitempty"`
}

type sandboxCharge struct {
	Charge   Charge           `json:"charge"`
	Amount   int64            `json:"amount"`
	Currency billing.Currency `json:"currency"`
	Refunded int64            `json:"refunded"`
	Refunds  []Refund         `json:"refunds"`
	// At and RefundsAt date the charge and its refunds, for its daily
	// payouts (payouts.go).
	At        time.Time   `json:"at,omitzero"`
	RefundsAt []time.Time `json:"refunds_at,omitempty"`
}

// sandboxIdem is the first result saved under an idempotency key, with a
// fingerprint of the request that produced it.
type sandboxIdem struct {
	Request string  `json:"request"`
	Charge  *Charge `json:"charge,omitempty"`
	Refund  *Refund `json:"refund,omitempty"`
}

type sandboxOutcome struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// SandboxRefundAttempt is one refund request the sandbox received: what it
// was asked to refund and what it answered. Tests add these up to check
// that Tollgate never asks for more than its ledger records.
type SandboxRefundAttempt struct {
	ChargeID       string `json:"charge_id"`
	Amount         int64  `json:"amount"`
	IdempotencyKey string `json:"idempotency_key"`
	RefundID       string `json:"tollgate_refund_id"`
	// Refund is the gateway's refund id when the request refunded money
	// (or replayed a refund under its key), empty when it was refused.
	Refund string `json:"refund,omitempty"`
	// Replayed is true when the key's first result was answered again.
	Replayed bool `json:"replayed,omitempty"`
	// Error is why the request was refused.
	Error string `json:"error,omitempty"`
}

// sandboxCards maps Stripe's public test card numbers to the outcome of
// charging them. These are published test numbers, not cardholder data.
var sandboxCards = map[string]sandboxOutcome{
	"4242424242424242": {},
	"4000056655665556": {}, // visa debit
	"5555555555554444": {},
	"2223003122003222": {}, // mastercard 2-series
	"5200828282828210": {}, // mastercard debit
	"5105105105105100": {}, // mastercard prepaid
	"378282246310005":  {},
	"371449635398431":  {},
	"6011111111111117": {},
	"6011000990139424": {},
	"6011981111111113": {}, // discover debit
	"3056930009020004": {}, // diners
	"36227206271667":   {}, // diners, 14 digits
	"3566002020360505": {}, // jcb
	"6200000000000005": {}, // unionpay
	"4000000000000002": {FailureCardDeclined, "Your card was declined."},
	"4000000000009995": {FailureInsufficientFunds, "Your card has insufficient funds."},
	"4000000000000069": {FailureExpiredCard, "Your card has expired."},
	"4000000000000127": {FailureIncorrectCVC, "Your card's security code is incorrect."},
	"4000000000000119": {FailureProcessingError, "An error occurred while processing your card. Try again in a little bit."},
	"4000000000000341": {FailureCardDeclined, "Your card was declined."},
	"4000002760003184": {}, // 3-D Secure required on every payment (sandboxAuthCards)
}

// sandboxAuthCards are the test cards whose bank asks for 3-D Secure on
// every payment (Stripe's 4000 0027 6000 3184).
var sandboxAuthCards = map[string]bool{"4000002760003184": true}

// Sandbox ACH test values (Stripe's).
const (
	SandboxRoutingNumber   = "110000000"
	SandboxAccountSucceeds = "000123456789"
	SandboxAccountClosed   = "000111111116"
	sandboxBankName        = "STRIPE TEST BANK"
)

// NewSandbox returns an empty sandbox gateway whose webhooks verify against
// secrets (the current one first; more than one during rotation). It uses the
// real clock and slog.Default until SetClock and SetLogger say otherwise.
func NewSandbox(secrets ...string) *Sandbox {
	return &Sandbox{
		secrets: append([]string(nil), secrets...),
		clock:   clock.Real{},
		log:     slog.Default(),
		st: sandboxState{
			Methods: make(map[string]*sandboxMethod),
			Charges: make(map[string]*sandboxCharge),
			Idem:    make(map[string]sandboxIdem),
			Intents: make(map[string]*sandboxIntent),
		},
	}
}

// OpenSandbox is NewSandbox with durable state: the payment methods,
// charges, refunds and idempotency keys are read from the state file at
// path (created when missing) and written back, atomically (a temporary
// file renamed over it, fsynced), before every call that changed them
// answers. So what the sandbox has answered survives a crash of whatever
// process runs it — the controller, or a sandbox served over HTTP
// ([Sandbox.Handler]) that outlives the controller in a crash test. A file
// that cannot be read or parsed is an error.
func OpenSandbox(path string, secrets ...string) (*Sandbox, error) {
	s := NewSandbox(secrets...)
	s.path = path
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, s.save()
	case err != nil:
		return nil, fmt.Errorf("sandbox state file: %w", err)
	}
	if err := json.Unmarshal(b, &s.st); err != nil {
		return nil, fmt.Errorf("sandbox state file %s: %w", path, err)
	}
	if s.st.Methods == nil {
		s.st.Methods = make(map[string]*sandboxMethod)
	}
	if s.st.Charges == nil {
		s.st.Charges = make(map[string]*sandboxCharge)
	}
	if s.st.Idem == nil {
		s.st.Idem = make(map[string]sandboxIdem)
	}
	if s.st.Intents == nil {
		s.st.Intents = make(map[string]*sandboxIntent)
	}
	return s, nil
}

// save writes the state file, if there is one. The caller holds s.mu.
func (s *Sandbox) save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(&s.st)
	if err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("sandbox state file: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		return fmt.Errorf("sandbox state file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// RefundLog returns every refund request the sandbox has received, in
// order, refused ones included.
func (s *Sandbox) RefundLog() []SandboxRefundAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SandboxRefundAttempt(nil), s.st.RefundLog...)
}

// Refunded returns how much of a charge the sandbox has refunded (0 for
// an unknown charge).
func (s *Sandbox) Refunded(chargeID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.st.Charges[chargeID]; ok {
		return c.Refunded
	}
	return 0
}

// SetClock sets the clock that card expiry is checked against (the
// controller's injected clock, so a simulated month can expire a card).
func (s *Sandbox) SetClock(c clock.Clock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// SetLogger sets where the sandbox logs what it does. Log lines carry tokens,
// brands, last four digits and amounts — never a card or account number.
func (s *Sandbox) SetLogger(l *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = l.With("gateway", "sandbox")
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

// Tokenize validates the card and, when it is a test number, returns a
// "tok_sandbox_…" token. Invalid numbers, past expiry dates, malformed CVCs
// and numbers that are not test numbers are EINVALID.
func (s *Sandbox) Tokenize(ctx context.Context, card CardInput) (PaymentMethod, error) {
	if err := ctx.Err(); err != nil {
		return PaymentMethod{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := checkCard(card, s.clock.Now())
	if err != nil {
		s.log.InfoContext(ctx, "sandbox: card refused", "reason", billing.ErrorMessage(err))
		return PaymentMethod{}, err
	}
	outcome, ok := sandboxCards[c.digits]
	if !ok {
		s.log.InfoContext(ctx, "sandbox: card refused", "reason", "not a test card", "brand", c.brand, "last4", c.last4)
		return PaymentMethod{}, billing.Errorf(billing.EINVALID,
			"the sandbox gateway accepts only Stripe's test card numbers (such as the Visa test card ending 4242); no real card can be charged here")
	}
	pm := PaymentMethod{
		Token:    newID("tok_sandbox_"),
		Kind:     KindCard,
		Brand:    c.brand,
		Last4:    c.last4,
		ExpMonth: c.expMonth,
		ExpYear:  c.expYear,
		Customer: card.Customer,
	}
	s.st.Methods[pm.Token] = &sandboxMethod{PM: pm, Failure: outcome, Auth: sandboxAuthCards[c.digits]}
	if err := s.save(); err != nil {
		return PaymentMethod{}, err
	}
	s.log.InfoContext(ctx, "sandbox: payment method created", "token", pm.Token, "kind", pm.Kind, "brand", pm.Brand, "last4", pm.Last4)
	return pm, nil
}

// TokenizeBank validates a US bank account and, when it is one of the
// sandbox's ACH test accounts (routing 110000000), returns a token. Only
// the last four digits of the account are kept.
func (s *Sandbox) TokenizeBank(ctx context.Context, routing, account string) (PaymentMethod, error) {
	if err := ctx.Err(); err != nil {
		return PaymentMethod{}, err
	}
	if err := checkBank(routing, account); err != nil {
		return PaymentMethod{}, err
	}
	routing, account = strings.TrimSpace(routing), strings.TrimSpace(account)
	var failure sandboxOutcome
	switch {
	case routing != SandboxRoutingNumber:
		return PaymentMethod{}, billing.Errorf(billing.EINVALID, "the sandbox gateway accepts only the test routing number %s", SandboxRoutingNumber)
	case account == SandboxAccountSucceeds:
	case account == SandboxAccountClosed:
		failure = sandboxOutcome{Code: FailureAccountClosed, Message: "The customer's bank account has been closed."}
	default:
		return PaymentMethod{}, billing.Errorf(billing.EINVALID,
			"the sandbox gateway accepts only the test account numbers %s and %s", SandboxAccountSucceeds, SandboxAccountClosed)
	}
	pm := PaymentMethod{
		Token:    newID("tok_sandbox_"),
		Kind:     KindBankAccount,
		Last4:    account[len(account)-4:],
		BankName: sandboxBankName,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Methods[pm.Token] = &sandboxMethod{PM: pm, Failure: failure}
	if err := s.save(); err != nil {
		return PaymentMethod{}, err
	}
	s.log.InfoContext(ctx, "sandbox: payment method created", "token", pm.Token, "kind", pm.Kind, "last4", pm.Last4)
	return pm, nil
}

// Charge charges a sandbox token; see [Gateway.Charge]. The outcome is the
// one its test number dictates.
func (s *Sandbox) Charge(ctx context.Context, req ChargeRequest) (Charge, error) {
	if err := ctx.Err(); err != nil {
		return Charge{}, err
	}
	cur, err := checkChargeRequest(req)
	if err != nil {
		return Charge{}, err
	}
	fp := fmt.Sprintf("charge\x00%s\x00%d\x00%s\x00%s\x00%s", req.Token, req.Amount, cur, req.Description, req.Customer)

	s.mu.Lock()
	defer s.mu.Unlock()
	if req.IdempotencyKey != "" {
		if saved, ok := s.st.Idem[req.IdempotencyKey]; ok {
			if saved.Request != fp || saved.Charge == nil {
				return Charge{}, errKeyReused(req.IdempotencyKey)
			}
			return *saved.Charge, nil
		}
	}
	m, err := s.method(req.Token)
	if err != nil {
		return Charge{}, err
	}
	if req.Customer != "" && m.PM.Customer != "" && req.Customer != m.PM.Customer {
		return Charge{}, billing.Errorf(billing.EINVALID, "payment method %s belongs to another customer", describeID(req.Token))
	}
	ch := Charge{ID: newID("ch_sandbox_"), Status: ChargeSucceeded}
	switch {
	case m.Failure.Code != "":
		ch.Status, ch.FailureCode, ch.FailureMessage = ChargeFailed, m.Failure.Code, m.Failure.Message
	case m.Auth:
		// Off-session: nobody is there to authenticate.
		ch.Status, ch.FailureCode = ChargeFailed, FailureAuthenticationRequired
		ch.FailureMessage = "The bank asks the cardholder to authenticate this payment; it cannot be completed automatically."
	}
	s.st.Charges[ch.ID] = &sandboxCharge{Charge: ch, Amount: req.Amount, Currency: cur, At: s.clock.Now()}
	if req.IdempotencyKey != "" {
		saved := ch
		s.st.Idem[req.IdempotencyKey] = sandboxIdem{Request: fp, Charge: &saved}
	}
	if err := s.save(); err != nil {
		return Charge{}, err
	}
	s.log.InfoContext(ctx, "sandbox: charge", "charge", ch.ID, "token", req.Token, "amount", req.Amount, "currency", string(cur),
		"status", string(ch.Status), "failure_code", ch.FailureCode)
	return ch, nil
}

// Refund refunds part or all (amount 0) of a succeeded sandbox charge; see
// [Gateway.Refund]. Every request, refused or not, is added to the
// [Sandbox.RefundLog].
func (s *Sandbox) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	if err := ctx.Err(); err != nil {
		return Refund{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := SandboxRefundAttempt{ChargeID: req.ChargeID, Amount: req.Amount, IdempotencyKey: req.IdempotencyKey, RefundID: req.RefundID}
	r, replayed, err := s.refund(req)
	entry.Refund, entry.Replayed = r.ID, replayed
	if err != nil {
		entry.Error = billing.ErrorMessage(err)
	}
	s.st.RefundLog = append(s.st.RefundLog, entry)
	if serr := s.save(); serr != nil {
		return Refund{}, serr
	}
	if err != nil {
		return Refund{}, err
	}
	if !replayed {
		s.log.InfoContext(ctx, "sandbox: refund", "refund", r.ID, "charge", req.ChargeID, "amount", r.Amount, "tollgate_refund_id", req.RefundID)
	}
	return r, nil
}

// refund makes a refund in memory; the caller holds s.mu and saves.
func (s *Sandbox) refund(req RefundRequest) (r Refund, replayed bool, err error) {
	if err := checkRefundRequest(req); err != nil {
		return Refund{}, false, err
	}
	fp := fmt.Sprintf("refund\x00%s\x00%d\x00%s", req.ChargeID, req.Amount, req.RefundID)
	if req.IdempotencyKey != "" {
		if saved, ok := s.st.Idem[req.IdempotencyKey]; ok {
			if saved.Request != fp || saved.Refund == nil {
				return Refund{}, false, errKeyReused(req.IdempotencyKey)
			}
			return *saved.Refund, true, nil
		}
	}
	c, ok := s.st.Charges[req.ChargeID]
	if !ok {
		return Refund{}, false, billing.Errorf(billing.ENOTFOUND, "charge %s does not exist", describeID(req.ChargeID))
	}
	if c.Charge.Status != ChargeSucceeded {
		return Refund{}, false, billing.Errorf(billing.EINVALID, "charge %s did not succeed; there is nothing to refund", describeID(req.ChargeID))
	}
	remaining := c.Amount - c.Refunded
	if remaining == 0 {
		return Refund{}, false, billing.Errorf(billing.EINVALID, "charge %s has already been refunded in full", describeID(req.ChargeID))
	}
	amount := req.Amount
	if amount == 0 {
		amount = remaining
	}
	if amount > remaining {
		return Refund{}, false, billing.Errorf(billing.EINVALID, "refund of %s is more than the %s of charge %s not yet refunded",
			billing.Money{Amount: amount, Currency: c.Currency}, billing.Money{Amount: remaining, Currency: c.Currency}, describeID(req.ChargeID))
	}
	c.Refunded += amount
	r = Refund{ID: newID("re_sandbox_"), ChargeID: req.ChargeID, Amount: amount, Status: "succeeded", TollgateRefundID: req.RefundID}
	c.Refunds = append(c.Refunds, r)
	c.RefundsAt = append(c.RefundsAt, s.clock.Now())
	if req.IdempotencyKey != "" {
		saved := r
		s.st.Idem[req.IdempotencyKey] = sandboxIdem{Request: fp, Refund: &saved}
	}
	return r, false, nil
}

// ListRefunds lists a sandbox charge's refunds, oldest first; see
// [Gateway.ListRefunds].
func (s *Sandbox) ListRefunds(ctx context.Context, chargeID string) ([]Refund, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.Charges[chargeID]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "charge %s does not exist", describeID(chargeID))
	}
	return append([]Refund{}, c.Refunds...), nil
}

// ParseWebhook verifies a delivery signed with one of the sandbox's secrets
// (Stripe's scheme, [webhooksig.DefaultTolerance]) and decodes the event.
func (s *Sandbox) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (Event, error) {
	s.mu.Lock()
	secrets := s.secrets
	s.mu.Unlock()
	if err := webhooksig.VerifyStripe(payload, signatureHeader, secrets, now, webhooksig.DefaultTolerance); err != nil {
		return Event{}, err
	}
	return decodeEvent(payload)
}

// SignedEvent renders ev as a Stripe-shaped webhook body signed with secret
// at now, returning the body and the Stripe-Signature header value, so tests
// and the demo can deliver webhooks. An empty ev.ID gets a fresh
// "evt_sandbox_…" id and a zero ev.Created becomes now.
func (s *Sandbox) SignedEvent(ev Event, secret string, now time.Time) (payload []byte, header string) {
	if ev.ID == "" {
		ev.ID = newID("evt_sandbox_")
	}
	if ev.Created.IsZero() {
		ev.Created = now
	}
	payload = encodeEvent(ev, newID("dp_sandbox_"))
	return payload, webhooksig.SignStripe(payload, secret, now)
}

// maxIdempotencyKey is Stripe's limit on Idempotency-Key length.
const maxIdempotencyKey = 255

// maxChargeAmount is Stripe's limit: eight digits of minor units.
const maxChargeAmount = 99_999_999

// checkChargeRequest validates what both gateways need before charging and
// returns the normalised currency.
func checkChargeRequest(req ChargeRequest) (billing.Currency, error) {
	if req.Token == "" {
		return "", billing.Errorf(billing.EINVALID, "payment method token is required")
	}
	if looksLikeCardNumber(req.Token) {
		return "", billing.Errorf(billing.EINVALID, "payment method token looks like a card number; tokenize the card and charge the token")
	}
	if req.Amount <= 0 {
		return "", billing.Errorf(billing.EINVALID, "charge amount must be positive, not %d", req.Amount)
	}
	if req.Amount > maxChargeAmount {
		return "", billing.Errorf(billing.EINVALID, "charge amount %d is more than the processor's limit of %d minor units", req.Amount, maxChargeAmount)
	}
	cur, err := billing.ParseCurrency(string(req.Currency))
	if err != nil {
		return "", err
	}
	if len(req.IdempotencyKey) > maxIdempotencyKey {
		return "", billing.Errorf(billing.EINVALID, "idempotency key is longer than %d characters", maxIdempotencyKey)
	}
	return cur, nil
}

func errKeyReused(key string) error {
	return billing.Errorf(billing.ECONFLICT, "idempotency key %s was already used with different parameters", describeID(key))
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read crashes the program instead)
	// Base32 (letters and 2-7), not hex: a random hex id now and then holds a
	// 13+ digit run that passes the Luhn check and looks like a card number
	// to scanners (ours included).
	return prefix + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// looksLikeCardNumber reports whether s is 12 to 19 digits, perhaps grouped
// with spaces or dashes: a card number pasted where an id belongs.
func looksLikeCardNumber(s string) bool {
	d, ok := cardDigits(s)
	return ok && len(d) >= 12 && len(d) <= 19
}

// describeID quotes a caller-supplied id for an error message, shortened,
// and never a card number pasted in its place.
func describeID(s string) string {
	if looksLikeCardNumber(s) {
		return "(a card number, not shown)"
	}
	return fmt.Sprintf("%q", clip(s))
}
