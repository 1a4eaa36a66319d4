package payments

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
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
// concurrent use; state is lost when the process ends.
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
	methods map[string]*sandboxMethod
	charges map[string]*sandboxCharge
	idem    map[string]sandboxIdem
}

type sandboxMethod struct {
	pm      PaymentMethod
	failure sandboxOutcome // of every charge; a zero code means charges succeed
}

type sandboxCharge struct {
	charge   Charge
	amount   int64
	currency billing.Currency
	refunded int64
}

// sandboxIdem is the first result saved under an idempotency key, with a
// fingerprint of the request that produced it.
type sandboxIdem struct {
	request string
	charge  *Charge
	refund  *Refund
}

type sandboxOutcome struct{ code, message string }

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
}

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
		methods: make(map[string]*sandboxMethod),
		charges: make(map[string]*sandboxCharge),
		idem:    make(map[string]sandboxIdem),
	}
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
	s.methods[pm.Token] = &sandboxMethod{pm: pm, failure: outcome}
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
		failure = sandboxOutcome{FailureAccountClosed, "The customer's bank account has been closed."}
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
	s.methods[pm.Token] = &sandboxMethod{pm: pm, failure: failure}
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
		if saved, ok := s.idem[req.IdempotencyKey]; ok {
			if saved.request != fp || saved.charge == nil {
				return Charge{}, errKeyReused(req.IdempotencyKey)
			}
			return *saved.charge, nil
		}
	}
	m, ok := s.methods[req.Token]
	if !ok {
		return Charge{}, billing.Errorf(billing.ENOTFOUND, "payment method %s does not exist", describeID(req.Token))
	}
	if req.Customer != "" && m.pm.Customer != "" && req.Customer != m.pm.Customer {
		return Charge{}, billing.Errorf(billing.EINVALID, "payment method %s belongs to another customer", describeID(req.Token))
	}
	ch := Charge{ID: newID("ch_sandbox_"), Status: ChargeSucceeded}
	if m.failure.code != "" {
		ch.Status, ch.FailureCode, ch.FailureMessage = ChargeFailed, m.failure.code, m.failure.message
	}
	s.charges[ch.ID] = &sandboxCharge{charge: ch, amount: req.Amount, currency: cur}
	if req.IdempotencyKey != "" {
		saved := ch
		s.idem[req.IdempotencyKey] = sandboxIdem{request: fp, charge: &saved}
	}
	s.log.InfoContext(ctx, "sandbox: charge", "charge", ch.ID, "token", req.Token, "amount", req.Amount, "currency", string(cur),
		"status", string(ch.Status), "failure_code", ch.FailureCode)
	return ch, nil
}

// Refund refunds part or all (amount 0) of a succeeded sandbox charge; see
// [Gateway.Refund].
func (s *Sandbox) Refund(ctx context.Context, chargeID string, amount int64, idempotencyKey string) (Refund, error) {
	if err := ctx.Err(); err != nil {
		return Refund{}, err
	}
	if chargeID == "" {
		return Refund{}, billing.Errorf(billing.EINVALID, "charge id is required")
	}
	if amount < 0 {
		return Refund{}, billing.Errorf(billing.EINVALID, "refund amount must not be negative")
	}
	if len(idempotencyKey) > maxIdempotencyKey {
		return Refund{}, billing.Errorf(billing.EINVALID, "idempotency key is longer than %d characters", maxIdempotencyKey)
	}
	fp := fmt.Sprintf("refund\x00%s\x00%d", chargeID, amount)

	s.mu.Lock()
	defer s.mu.Unlock()
	if idempotencyKey != "" {
		if saved, ok := s.idem[idempotencyKey]; ok {
			if saved.request != fp || saved.refund == nil {
				return Refund{}, errKeyReused(idempotencyKey)
			}
			return *saved.refund, nil
		}
	}
	c, ok := s.charges[chargeID]
	if !ok {
		return Refund{}, billing.Errorf(billing.ENOTFOUND, "charge %s does not exist", describeID(chargeID))
	}
	if c.charge.Status != ChargeSucceeded {
		return Refund{}, billing.Errorf(billing.EINVALID, "charge %s did not succeed; there is nothing to refund", describeID(chargeID))
	}
	remaining := c.amount - c.refunded
	if remaining == 0 {
		return Refund{}, billing.Errorf(billing.EINVALID, "charge %s has already been refunded in full", describeID(chargeID))
	}
	if amount == 0 {
		amount = remaining
	}
	if amount > remaining {
		return Refund{}, billing.Errorf(billing.EINVALID, "refund of %s is more than the %s of charge %s not yet refunded",
			billing.Money{Amount: amount, Currency: c.currency}, billing.Money{Amount: remaining, Currency: c.currency}, describeID(chargeID))
	}
	c.refunded += amount
	r := Refund{ID: newID("re_sandbox_"), ChargeID: chargeID, Amount: amount, Status: "succeeded"}
	if idempotencyKey != "" {
		saved := r
		s.idem[idempotencyKey] = sandboxIdem{request: fp, refund: &saved}
	}
	s.log.InfoContext(ctx, "sandbox: refund", "refund", r.ID, "charge", chargeID, "amount", amount, "currency", string(c.currency))
	return r, nil
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
