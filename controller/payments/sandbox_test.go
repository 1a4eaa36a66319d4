package payments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

var sandboxNow = time.Date(2026, time.March, 10, 9, 0, 0, 0, time.UTC)

func newTestSandbox(t *testing.T, secrets ...string) *Sandbox {
	t.Helper()
	s := NewSandbox(secrets...)
	s.SetClock(clock.NewFixed(sandboxNow))
	s.SetLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testCard(number string) CardInput {
	return CardInput{Number: number, ExpMonth: 12, ExpYear: sandboxNow.Year() + 3, CVC: "123", Name: "Ada Lovelace"}
}

func mustTokenize(t *testing.T, g Gateway, number string) PaymentMethod {
	t.Helper()
	c := testCard(number)
	if cardBrand(number) == "amex" {
		c.CVC = "1234"
	}
	var pm PaymentMethod
	var err error
	if sb, ok := g.(*Sandbox); ok {
		// The sandbox's own fields (its browser origin) take the number.
		pm, err = sb.Tokenize(context.Background(), c)
	} else {
		// Anything else only ever gets Stripe's test method ids.
		for id, n := range TestPaymentMethods {
			if n == number {
				pm, err = g.RetrievePaymentMethod(context.Background(), id)
			}
		}
	}
	if err != nil || pm.Token == "" {
		t.Fatalf("Tokenize(…%s): %v", number[len(number)-4:], err)
	}
	return pm
}

func usd(token string, amount int64, key string) ChargeRequest {
	return ChargeRequest{Token: token, Amount: amount, Currency: "USD", Description: "Internet 100M, March", IdempotencyKey: key}
}

func wantCode(t *testing.T, err error, code billing.Code, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s containing %q", code, contains)
	}
	if got := billing.ErrorCode(err); got != code || !strings.Contains(err.Error(), contains) {
		t.Fatalf("error = %v (code %s), want %s containing %q", err, got, code, contains)
	}
}

func TestSandboxTestCards(t *testing.T) {
	tests := []struct {
		number      string
		brand       string
		status      ChargeStatus
		failureCode string
	}{
		{"4242424242424242", "visa", ChargeSucceeded, ""},
		{"4000056655665556", "visa", ChargeSucceeded, ""},
		{"5555555555554444", "mastercard", ChargeSucceeded, ""},
		{"2223003122003222", "mastercard", ChargeSucceeded, ""},
		{"378282246310005", "amex", ChargeSucceeded, ""},
		{"6011111111111117", "discover", ChargeSucceeded, ""},
		{"4000000000000002", "visa", ChargeFailed, FailureCardDeclined},
		{"4000000000009995", "visa", ChargeFailed, FailureInsufficientFunds},
		{"4000000000000069", "visa", ChargeFailed, FailureExpiredCard},
		{"4000000000000127", "visa", ChargeFailed, FailureIncorrectCVC},
		{"4000000000000119", "visa", ChargeFailed, FailureProcessingError},
		{"4000000000000341", "visa", ChargeFailed, FailureCardDeclined},
	}
	s := newTestSandbox(t)
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			// Stripe declines these at charge time: tokenizing succeeds.
			pm := mustTokenize(t, s, tc.number)
			if !strings.HasPrefix(pm.Token, "tok_sandbox_") || pm.Kind != KindCard || pm.Brand != tc.brand ||
				pm.Last4 != tc.number[len(tc.number)-4:] || pm.ExpMonth != 12 || pm.ExpYear != sandboxNow.Year()+3 {
				t.Fatalf("payment method = %+v", pm)
			}
			for i := range 2 { // every charge, not just the first, has the card's outcome
				ch, err := s.Charge(ctx, usd(pm.Token, 4999, fmt.Sprintf("%s-%d", tc.number, i)))
				if err != nil {
					t.Fatalf("Charge: %v", err)
				}
				if !strings.HasPrefix(ch.ID, "ch_sandbox_") || ch.Status != tc.status || ch.FailureCode != tc.failureCode {
					t.Fatalf("charge %d = %+v, want %s %q", i, ch, tc.status, tc.failureCode)
				}
				if (ch.FailureMessage != "") != (tc.status == ChargeFailed) {
					t.Fatalf("failure message %q for status %s", ch.FailureMessage, ch.Status)
				}
			}
		})
	}
}

func TestSandboxTokenizeRefuses(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		card     CardInput
		contains string
	}{
		{"luhn", testCard("4242424242424241"), "card number is not valid"},
		{"not digits", testCard("4242-4242-4242-42x2"), "card number is not valid"},
		{"real-looking card", testCard("4111111111111111"), "no real card can be charged here"},
		{"expired", CardInput{Number: "4242424242424242", ExpMonth: 2, ExpYear: 2026}, "card has expired"},
		{"bad month", CardInput{Number: "4242424242424242", ExpMonth: 13, ExpYear: 2030}, "expiry month"},
		{"amex cvc", CardInput{Number: "378282246310005", ExpMonth: 1, ExpYear: 2030, CVC: "123"}, "4 digits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Tokenize(ctx, tc.card)
			wantCode(t, err, billing.EINVALID, tc.contains)
		})
	}
	// The expiry month that is running now is still good.
	if _, err := s.Tokenize(ctx, CardInput{Number: "4242424242424242", ExpMonth: 3, ExpYear: 2026}); err != nil {
		t.Fatalf("card expiring this month: %v", err)
	}
	// The injected clock decides: the same card expires when time moves on.
	s.SetClock(clock.NewFixed(time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)))
	_, err := s.Tokenize(ctx, CardInput{Number: "4242424242424242", ExpMonth: 3, ExpYear: 2026})
	wantCode(t, err, billing.EINVALID, "card has expired")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Tokenize(cctx, testCard("4242424242424242")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
}

func TestSandboxChargeValidation(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()
	pm := mustTokenize(t, s, "4242424242424242")
	tests := []struct {
		name     string
		req      ChargeRequest
		code     billing.Code
		contains string
	}{
		{"no token", usd("", 100, ""), billing.EINVALID, "token is required"},
		{"zero amount", usd(pm.Token, 0, ""), billing.EINVALID, "must be positive"},
		{"negative amount", usd(pm.Token, -5, ""), billing.EINVALID, "must be positive"},
		{"over the processor's limit", usd(pm.Token, 100_000_000, ""), billing.EINVALID, "limit"},
		{"bad currency", ChargeRequest{Token: pm.Token, Amount: 100, Currency: "XXX"}, billing.EINVALID, "currency"},
		{"no currency", ChargeRequest{Token: pm.Token, Amount: 100}, billing.EINVALID, "currency"},
		{"long key", usd(pm.Token, 100, strings.Repeat("k", 256)), billing.EINVALID, "idempotency key"},
		{"unknown token", usd("tok_sandbox_nope", 100, ""), billing.ENOTFOUND, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Charge(ctx, tc.req)
			wantCode(t, err, tc.code, tc.contains)
		})
	}
	// Lower-case currency is accepted.
	ch, err := s.Charge(ctx, ChargeRequest{Token: pm.Token, Amount: 100, Currency: "usd"})
	if err != nil || ch.Status != ChargeSucceeded {
		t.Fatalf("lower-case currency: %+v %v", ch, err)
	}
	// A method saved for one customer cannot be charged for another.
	c := testCard("4242424242424242")
	c.Customer = "cus_a"
	owned, err := s.Tokenize(ctx, c)
	if err != nil || owned.Customer != "cus_a" {
		t.Fatalf("Tokenize with customer: %+v %v", owned, err)
	}
	req := usd(owned.Token, 100, "")
	req.Customer = "cus_b"
	_, err = s.Charge(ctx, req)
	wantCode(t, err, billing.EINVALID, "another customer")
	req.Customer = "cus_a"
	if _, err := s.Charge(ctx, req); err != nil {
		t.Fatalf("charge for the method's own customer: %v", err)
	}
}

func TestSandboxIdempotentCharges(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()
	good := mustTokenize(t, s, "4242424242424242")
	bad := mustTokenize(t, s, "4000000000009995")

	first, err := s.Charge(ctx, usd(good.Token, 2500, "pay-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Charge(ctx, usd(good.Token, 2500, "pay-1"))
	if err != nil || again != first {
		t.Fatalf("replay = %+v, %v; want the first charge %+v", again, err, first)
	}
	// A declined charge is replayed as the same decline, not retried.
	d1, _ := s.Charge(ctx, usd(bad.Token, 2500, "pay-2"))
	d2, err := s.Charge(ctx, usd(bad.Token, 2500, "pay-2"))
	if err != nil || d1 != d2 || d2.Status != ChargeFailed {
		t.Fatalf("declined replay = %+v, %v; want %+v", d2, err, d1)
	}
	// Same key, other parameters.
	for name, req := range map[string]ChargeRequest{
		"amount":      usd(good.Token, 2501, "pay-1"),
		"token":       usd(bad.Token, 2500, "pay-1"),
		"currency":    {Token: good.Token, Amount: 2500, Currency: "CAD", Description: "Internet 100M, March", IdempotencyKey: "pay-1"},
		"description": {Token: good.Token, Amount: 2500, Currency: "USD", Description: "other", IdempotencyKey: "pay-1"},
	} {
		_, err := s.Charge(ctx, req)
		if billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("same key, different %s: %v, want ECONFLICT", name, err)
		}
	}
	// A charge key cannot be reused for a refund.
	_, err = s.Refund(ctx, RefundRequest{ChargeID: first.ID, Amount: 100, IdempotencyKey: "pay-1"})
	wantCode(t, err, billing.ECONFLICT, "already used")
	// Without a key every call is a new charge.
	a, _ := s.Charge(ctx, usd(good.Token, 2500, ""))
	b, _ := s.Charge(ctx, usd(good.Token, 2500, ""))
	if a.ID == b.ID {
		t.Fatalf("two charges without a key share id %s", a.ID)
	}
}

func TestSandboxRefunds(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()
	pm := mustTokenize(t, s, "4242424242424242")
	ch, err := s.Charge(ctx, usd(pm.Token, 5000, "c1"))
	if err != nil {
		t.Fatal(err)
	}

	r1, err := s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1500, IdempotencyKey: "r1"})
	if err != nil || r1.Amount != 1500 || r1.ChargeID != ch.ID || r1.Status != "succeeded" || !strings.HasPrefix(r1.ID, "re_sandbox_") {
		t.Fatalf("partial refund = %+v, %v", r1, err)
	}
	if again, err := s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1500, IdempotencyKey: "r1"}); err != nil || again != r1 {
		t.Fatalf("refund replay = %+v, %v; want %+v", again, err, r1)
	}
	_, err = s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1600, IdempotencyKey: "r1"})
	wantCode(t, err, billing.ECONFLICT, "different parameters")

	_, err = s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 3501, IdempotencyKey: "r2"})
	wantCode(t, err, billing.EINVALID, "USD 35.01 is more than the USD 35.00")

	rest, err := s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 0, IdempotencyKey: "r3"}) // 0: everything not yet refunded
	if err != nil || rest.Amount != 3500 {
		t.Fatalf("refund of the rest = %+v, %v", rest, err)
	}
	_, err = s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1, IdempotencyKey: "r4"})
	wantCode(t, err, billing.EINVALID, "refunded in full")

	_, err = s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: -1, IdempotencyKey: ""})
	wantCode(t, err, billing.EINVALID, "negative")
	_, err = s.Refund(ctx, RefundRequest{ChargeID: "ch_sandbox_nope", Amount: 1, IdempotencyKey: ""})
	wantCode(t, err, billing.ENOTFOUND, "does not exist")
	_, err = s.Refund(ctx, RefundRequest{ChargeID: "", Amount: 1, IdempotencyKey: ""})
	wantCode(t, err, billing.EINVALID, "required")

	declined := mustTokenize(t, s, "4000000000000002")
	failed, _ := s.Charge(ctx, usd(declined.Token, 5000, ""))
	_, err = s.Refund(ctx, RefundRequest{ChargeID: failed.ID, Amount: 0, IdempotencyKey: ""})
	wantCode(t, err, billing.EINVALID, "did not succeed")
}

func TestSandboxBankAccounts(t *testing.T) {
	s := newTestSandbox(t)
	ctx := context.Background()

	ok, err := s.TokenizeBank(ctx, "110000000", "000123456789")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ok.Token, "tok_sandbox_") || ok.Kind != KindBankAccount || ok.Last4 != "6789" || ok.BankName == "" || ok.Brand != "" {
		t.Fatalf("bank method = %+v", ok)
	}
	ch, err := s.Charge(ctx, usd(ok.Token, 8000, ""))
	if err != nil || ch.Status != ChargeSucceeded {
		t.Fatalf("ACH charge = %+v, %v", ch, err)
	}

	closed, err := s.TokenizeBank(ctx, "110000000", "000111111116")
	if err != nil || closed.Last4 != "1116" {
		t.Fatalf("closed account tokenizes: %+v, %v", closed, err)
	}
	for range 2 {
		ch, err := s.Charge(ctx, usd(closed.Token, 8000, ""))
		if err != nil || ch.Status != ChargeFailed || ch.FailureCode != FailureAccountClosed || ch.FailureMessage == "" {
			t.Fatalf("charge on a closed account = %+v, %v", ch, err)
		}
	}

	_, err = s.TokenizeBank(ctx, "110000001", "000123456789")
	wantCode(t, err, billing.EINVALID, "routing number is not valid")
	_, err = s.TokenizeBank(ctx, "021000021", "000123456789")
	wantCode(t, err, billing.EINVALID, "test routing number")
	_, err = s.TokenizeBank(ctx, "110000000", "987654321012")
	wantCode(t, err, billing.EINVALID, "test account numbers")
	if strings.Contains(err.Error(), "987654321012") {
		t.Fatalf("error echoes the account number: %v", err)
	}
	_, err = s.TokenizeBank(ctx, "110000000", "12")
	wantCode(t, err, billing.EINVALID, "account number is not valid")
}

func TestSandboxConcurrent(t *testing.T) {
	s := newTestSandbox(t)
	s.SetLogger(slog.New(slog.DiscardHandler))
	ctx := context.Background()
	pm := mustTokenize(t, s, "4242424242424242")

	// Concurrent duplicates of one charge execute once.
	const n = 64
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ch, err := s.Charge(ctx, usd(pm.Token, 1234, "same-key"))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = ch.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent duplicates made different charges: %s and %s", ids[0], id)
		}
	}

	// Everything at once: tokenize, charge, refund, webhooks.
	for i := range n {
		wg.Go(func() {
			number := []string{"4242424242424242", "5555555555554444", "4000000000000002"}[i%3]
			p, err := s.Tokenize(ctx, testCard(number))
			if err != nil {
				t.Error(err)
				return
			}
			ch, err := s.Charge(ctx, usd(p.Token, 1000, fmt.Sprintf("k-%d", i)))
			if err != nil {
				t.Error(err)
				return
			}
			if ch.Status == ChargeSucceeded {
				for j := range 4 {
					if _, err := s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 250, IdempotencyKey: fmt.Sprintf("r-%d-%d", i, j)}); err != nil {
						t.Error(err)
					}
				}
				if _, err := s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1, IdempotencyKey: ""}); billing.ErrorCode(err) != billing.EINVALID {
					t.Errorf("over-refund after four quarters: %v", err)
				}
			}
			body, header := s.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: ch.ID, Amount: 1000}, "whsec_x", sandboxNow)
			if _, err := NewSandbox("whsec_x").ParseWebhook(body, header, sandboxNow); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestSandboxWebhookRoundTrip(t *testing.T) {
	const secret = "whsec_sandbox_test"
	s := newTestSandbox(t, secret)
	ctx := context.Background()
	pm := mustTokenize(t, s, "4242424242424242")
	ch, err := s.Charge(ctx, usd(pm.Token, 7500, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{EventChargeSucceeded, EventChargeFailed, EventChargeRefunded, EventChargeDisputeCreated} {
		t.Run(typ, func(t *testing.T) {
			sent := Event{Type: typ, ChargeID: ch.ID, Amount: 7500, Created: sandboxNow.Add(-time.Minute)}
			body, header := s.SignedEvent(sent, secret, sandboxNow)
			if !strings.HasPrefix(header, fmt.Sprintf("t=%d,v1=", sandboxNow.Unix())) {
				t.Fatalf("header = %q", header)
			}
			got, err := s.ParseWebhook(body, header, sandboxNow.Add(30*time.Second))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if !strings.HasPrefix(got.ID, "evt_sandbox_") {
				t.Fatalf("event id = %q", got.ID)
			}
			sent.ID = got.ID
			if got != sent {
				t.Fatalf("got %+v\nwant %+v", got, sent)
			}
			if _, err := s.ParseWebhook(body, header, sandboxNow.Add(301*time.Second)); !errors.Is(err, webhooksig.ErrTimestamp) {
				t.Fatalf("replayed 301 s later: %v", err)
			}
		})
	}
	// Explicit ids and creation times are kept; a zero time becomes now.
	body, header := s.SignedEvent(Event{ID: "evt_fixed", Type: EventChargeSucceeded, ChargeID: ch.ID, Amount: 1}, secret, sandboxNow)
	got, err := s.ParseWebhook(body, header, sandboxNow)
	if err != nil || got.ID != "evt_fixed" || !got.Created.Equal(sandboxNow) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// No card number — whole, formatted or in part — reaches the logs or an
// error, whatever happens to the card.
func TestSandboxNeverRevealsCardNumbers(t *testing.T) {
	var logs bytes.Buffer
	s := NewSandbox("whsec_x")
	s.SetClock(clock.NewFixed(sandboxNow))
	s.SetLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := context.Background()

	var texts []string // every error and result we got back, as text
	numbers := []string{
		"4242424242424242", "4000000000000002", "4000000000009995", "4000000000000069", "4000000000000127",
		"4000000000000119", "4000000000000341", "5555555555554444", "378282246310005",
		"4111111111111111", // Luhn-valid, not a test number
		"4242424242424241", // Luhn fails
		"5105105105105106", // Luhn fails
	}
	for _, n := range numbers {
		for _, typed := range []string{n, spaced(n), strings.ReplaceAll(spaced(n), " ", "-")} {
			for _, c := range []CardInput{
				{Number: typed, ExpMonth: 12, ExpYear: 2030, CVC: "123"},
				{Number: typed, ExpMonth: 12, ExpYear: 2030, CVC: "1234"},
				{Number: typed, ExpMonth: 1, ExpYear: 2020, CVC: "123"}, // expired
				{Number: typed, ExpMonth: 14, ExpYear: 2030},
				{Number: typed, ExpMonth: 12, ExpYear: 2030, CVC: "12"},
			} {
				pm, err := s.Tokenize(ctx, c)
				texts = append(texts, fmt.Sprintf("%+v %v %v %+v", pm, err, c, c))
				if err != nil {
					continue
				}
				ch, err := s.Charge(ctx, usd(pm.Token, 1000, ""))
				texts = append(texts, fmt.Sprintf("%+v %v", ch, err))
				r, err := s.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 0, IdempotencyKey: ""})
				texts = append(texts, fmt.Sprintf("%+v %v", r, err))
			}
		}
	}
	// Misuse: a card number passed where a token or charge id belongs is
	// refused without being echoed.
	for _, n := range []string{"4242424242424242", "4242 4242 4242 4242"} {
		_, err := s.Charge(ctx, ChargeRequest{Token: n, Amount: 100, Currency: "USD"})
		wantCode(t, err, billing.EINVALID, "looks like a card number")
		texts = append(texts, err.Error())
		_, err = s.Refund(ctx, RefundRequest{ChargeID: n, Amount: 100, IdempotencyKey: ""})
		texts = append(texts, fmt.Sprint(err))
	}

	all := logs.String() + "\n" + strings.Join(texts, "\n")
	if logs.Len() == 0 {
		t.Fatal("the sandbox logged nothing; the test would prove nothing")
	}
	for _, n := range numbers {
		for _, leak := range []string{n, spaced(n), n[:len(n)-4], n[4 : len(n)-2]} {
			if i := strings.Index(all, leak); i >= 0 {
				t.Fatalf("card number (part %q) revealed: …%s…", leak, all[max(0, i-80):min(len(all), i+len(leak)+20)])
			}
		}
	}
	if !strings.Contains(logs.String(), `"last4":"4242"`) {
		t.Fatalf("logs should identify cards by last4 only; got:\n%s", logs.String())
	}
}

// spaced writes a card number in groups of four.
func spaced(n string) string {
	var b strings.Builder
	for i, r := range n {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
