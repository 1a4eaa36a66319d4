package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

const stripeWebhookSecret = "whsec_test_asyncpay"

// stripeEnv serves the admin API with the Stripe gateway (its webhook
// handler; no Stripe call is made) on a fixed clock, with one suspended
// account: a USD 50.00 invoice past its delinquency date, one service, a
// bank account on file, and an account type with pending_payments
// restore.
type stripeEnv struct {
	*env
	clock            *clock.Fixed
	account, service int64
	method, typ      int64
}

func newStripeEnv(t *testing.T) *stripeEnv {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	now := time.Date(2026, 12, 14, 15, 0, 0, 0, time.UTC) // a Monday
	clk := clock.NewFixed(now)
	log := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	gw, err := payments.NewStripe(payments.StripeConfig{APIKey: "sk_test_unused", BaseURL: "http://127.0.0.1:1", WebhookSecrets: []string{stripeWebhookSecret}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Methods: db,
		Charger: charge.New(gw, db, clk, log)}, nil, clk, log, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &stripeEnv{env: &env{t: t, url: hs.URL, db: db}, clock: clk}

	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14,
		GraceDays: 7, TimeZone: "UTC", AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue, PendingPayments: billing.PendingRestore}, now)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Jane", Email: "jane@example.net", AccountTypeID: typ.ID, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	e.account, e.typ = a.ID, typ.ID
	s, err := db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"}, AccountID: &a.ID}, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	e.service = s.ID
	if _, err := db.Pool.Exec(ctx, `WITH i AS (
			INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT n, 'INV-' || n, $1, '2026-11-01', '2026-12-01', '2026-11-01', '2026-11-15', '2026-11-22', 'USD', 5000, 0, 5000, now()
			FROM nextval('invoices_id_seq') n RETURNING id, issue_date
		), t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
		)
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
			(VALUES (1::smallint, 'accounts_receivable', 5000::bigint), (2::smallint, 'service_revenue', -5000::bigint)) u(no, ledger, amount)`,
		a.ID); err != nil {
		t.Fatal(err)
	}
	m, err := db.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: a.ID, Gateway: "stripe", Token: "pm_usBankAccount", Kind: "bank_account",
		Last4: "6789", BankName: "STRIPE TEST BANK"}, true, now)
	if err != nil {
		t.Fatal(err)
	}
	e.method = m.ID
	e.sweep()
	e.expect("the sweep", billing.AccountSuspended, billing.StateSuspended, 5000)
	return e
}

func (e *stripeEnv) sweep() {
	e.t.Helper()
	if _, err := e.db.Sweep(context.Background(), billing.SweepRequest{AccountTypeID: e.typ, Trigger: billing.SweepManual, Actor: "test"}, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

// expect checks the account's status, its service's desired state and
// its balance.
func (e *stripeEnv) expect(when string, status billing.AccountStatus, state billing.DesiredState, balance int64) {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.db.Account(ctx, e.account)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.db.Service(ctx, e.service)
	if err != nil {
		e.t.Fatal(err)
	}
	bal, err := e.db.Balance(ctx, e.account)
	if err != nil {
		e.t.Fatal(err)
	}
	if a.Status != status || s.DesiredState != state || bal != balance {
		e.t.Fatalf("%s: account %s, service %s, balance %d; want %s, %s, %d", when, a.Status, s.DesiredState, bal, status, state, balance)
	}
}

// attempt starts a portal charge attempt of amount, as the browser's
// PaymentIntent flow records it before the intent is confirmed.
func (e *stripeEnv) attempt(amount int64, key string) billing.PaymentAttempt {
	e.t.Helper()
	a, _, err := e.db.BeginAttempt(context.Background(), billing.PaymentAttempt{AccountID: e.account, PaymentMethodID: e.method, Amount: amount,
		Currency: "USD", Trigger: billing.TriggerPortal, Gateway: "stripe", IdempotencyKey: key}, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// stripeStep is one signed Stripe event and what the handler answers.
type stripeStep struct {
	typ    string
	object map[string]any
	action billing.GatewayAction
	// then: the account's status, its service's desired state and its
	// balance after the step.
	status  billing.AccountStatus
	state   billing.DesiredState
	balance int64
	sweep   bool // a sweep runs after the step
}

// deliver signs ev as Stripe does (stripe-go's test signing) and posts it
// to the webhook handler, twice: the second delivery is a duplicate.
func (e *stripeEnv) deliver(n int, st stripeStep) {
	e.t.Helper()
	e.clock.Add(time.Minute)
	now := e.clock.Now()
	body, err := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_%d_%s", n, strings.ReplaceAll(st.typ, ".", "_")), "object": "event",
		"type": st.typ, "created": now.Unix(), "api_version": "2025-03-31.basil", "livemode": false, "data": map[string]any{"object": st.object}})
	if err != nil {
		e.t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeWebhookSecret, Timestamp: now})
	for i, dup := range []bool{false, true} {
		r := e.doHeader("POST", "/api/v1/webhooks/stripe", string(body), map[string]string{"Stripe-Signature": signed.Header})
		if r.status != 200 {
			e.t.Fatalf("%s delivery %d: %d %s", st.typ, i+1, r.status, r.body)
		}
		got := r.json(e.t)
		if got["duplicate"] != dup || (!dup && got["action"] != string(st.action)) {
			e.t.Fatalf("%s delivery %d: %s, want action %s", st.typ, i+1, r.body, st.action)
		}
	}
	if st.sweep {
		e.sweep()
	}
	e.expect(st.typ, st.status, st.state, st.balance)
}

func intent(id string, attempt int64, status string) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "amount": 5000, "currency": "usd", "status": status,
		"metadata": map[string]any{payments.MetadataAttemptID: strconv.FormatInt(attempt, 10)}}
}

// TestStripeWebhookSequences: signed Stripe events (stripe-go's test
// signing) posted to the real webhook handler, in the sequences an
// asynchronous payment goes through, with the ledger (balance) and the
// service's state after each step. The account is suspended, its type
// restores on a pending payment (pending_payments restore).
func TestStripeWebhookSequences(t *testing.T) {
	t.Parallel()
	const pi = "pi_3SeqTest"
	dispute := func(status string) map[string]any {
		return map[string]any{"id": "dp_1", "object": "dispute", "amount": 5000, "currency": "usd", "charge": "ch_1", "payment_intent": pi, "status": status}
	}
	succeeded := func(attempt int64) stripeStep {
		return stripeStep{payments.EventPaymentIntentSucceeded, intent(pi, attempt, "succeeded"), billing.GatewayPost,
			billing.AccountCurrent, billing.StateActive, 0, false}
	}
	for name, steps := range map[string]func(attempt int64) []stripeStep{
		"processing, succeeded": func(a int64) []stripeStep {
			return []stripeStep{
				{payments.EventPaymentIntentProcessing, intent(pi, a, "processing"), billing.GatewayMarkProcessing,
					billing.AccountPastDue, billing.StateActive, 5000, false},
				succeeded(a),
			}
		},
		"processing, failed, the sweep suspends": func(a int64) []stripeStep {
			failed := intent(pi, a, "requires_payment_method")
			failed["last_payment_error"] = map[string]any{"code": "payment_method_provider_decline", "decline_code": "insufficient_funds",
				"message": "The customer's account has insufficient funds to cover this payment."}
			return []stripeStep{
				{payments.EventPaymentIntentProcessing, intent(pi, a, "processing"), billing.GatewayMarkProcessing,
					billing.AccountPastDue, billing.StateActive, 5000, false},
				{payments.EventPaymentIntentPaymentFailed, failed, billing.GatewayFail, billing.AccountSuspended, billing.StateSuspended, 5000, true},
			}
		},
		"succeeded, ACH return R01, the sweep suspends": func(a int64) []stripeStep {
			return []stripeStep{succeeded(a),
				{payments.EventChargeFailed, map[string]any{"id": "ch_1", "object": "charge", "amount": 5000, "payment_intent": pi,
					"failure_code": "R01", "failure_message": "Insufficient funds"}, billing.GatewayReverse,
					billing.AccountSuspended, billing.StateSuspended, 5000, true},
			}
		},
		"succeeded, dispute, won": func(a int64) []stripeStep {
			return []stripeStep{succeeded(a),
				{payments.EventChargeDisputeCreated, dispute("needs_response"), billing.GatewayReverse,
					billing.AccountDelinquent, billing.StateActive, 5000, false},
				{payments.EventChargeDisputeClosed, dispute("won"), billing.GatewayRepost, billing.AccountCurrent, billing.StateActive, 0, false},
			}
		},
		"succeeded, dashboard refund": func(a int64) []stripeStep {
			return []stripeStep{succeeded(a),
				{payments.EventChargeRefunded, map[string]any{"id": "ch_1", "object": "charge", "amount": 5000, "amount_refunded": 2000,
					"payment_intent": pi, "refunds": map[string]any{"object": "list", "data": []any{
						map[string]any{"id": "re_dash", "amount": 2000, "status": "succeeded", "metadata": map[string]any{}}}}},
					billing.GatewayRefundAction, billing.AccountDelinquent, billing.StateActive, 2000, false},
			}
		},
		"failed try, then succeeded, then a late processing": func(a int64) []stripeStep {
			failed := intent(pi, a, "requires_payment_method")
			failed["last_payment_error"] = map[string]any{"code": "card_declined", "decline_code": "generic_decline"}
			return []stripeStep{
				{payments.EventPaymentIntentPaymentFailed, failed, billing.GatewayFail, billing.AccountSuspended, billing.StateSuspended, 5000, false},
				succeeded(a),
				{payments.EventPaymentIntentProcessing, intent(pi, a, "processing"), billing.GatewayNothing,
					billing.AccountCurrent, billing.StateActive, 0, false},
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newStripeEnv(t)
			a := e.attempt(5000, "portal-"+name)
			for i, st := range steps(a.ID) {
				e.deliver(i, st)
			}
		})
	}
}
