package portal_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/portal"
)

var authLinkRE = regexp.MustCompile(`id="auth-continue" href="([^"]+)"`)

// A card whose bank asks for 3-D Secure: the portal sends the subscriber
// on to the bank's page; the return URL retrieves the intent from the
// gateway (never trusting the query) and posts the payment once, however
// often the page is loaded; another account cannot use the intent.
func TestPayWithThreeDSecure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := e.owing("Tess", "p1", "10.1.0.60", due(-30), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	form := b.payPage()
	p := b.post("/pay", merge(cardForm("pm_card_authenticationRequired"), url.Values{"csrf": {form.hidden(t, "csrf")},
		"key": {form.hidden(t, "key")}, "choice": {"balance"}})).must(t, 200, "Your bank asks you to confirm this payment")
	m := authLinkRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no link to the bank's page:\n%s", p.body)
	}
	intent := m[1][strings.LastIndex(m[1], "/")+1:]
	if bal, _ := e.db.Balance(ctx, s.account.ID); bal != 5000 {
		t.Fatalf("balance %d before the bank's answer", bal)
	}
	// The query's status is not believed: the intent still waits.
	b.get("/pay/return?payment_intent="+intent+"&redirect_status=succeeded").must(t, 200, "Your bank asks you to confirm")
	// The same form sent again shows the payment, waiting, with the way on.
	b.post("/pay", merge(cardForm("pm_card_authenticationRequired"), url.Values{"csrf": {form.hidden(t, "csrf")},
		"key": {form.hidden(t, "key")}, "choice": {"balance"}})).must(t, 200, "waits for your bank's confirmation", "Continue to your bank")
	if _, _, err := e.sb.Authenticate(ctx, intent, true); err != nil {
		t.Fatal(err)
	}
	// Another subscriber cannot settle or see it.
	other := e.owing("Uma", "p1", "10.1.0.61", due(-30), 5000)
	ob := e.browser()
	ob.signInWithCode(other.account)
	ob.get("/pay/return?payment_intent="+intent).must(t, 404)

	b.get("/pay/return?payment_intent="+intent).must(t, 200, "Payment of $50.00 received")
	b.get("/pay/return?payment_intent="+intent).must(t, 200, "Payment of $50.00 received")
	var payments int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM payments WHERE account_id = $1`, s.account.ID).Scan(&payments); err != nil || payments != 1 {
		t.Fatalf("%d payments (%v), want 1", payments, err)
	}
	if bal, _ := e.db.Balance(ctx, s.account.ID); bal != 0 {
		t.Fatalf("balance %d after paying", bal)
	}

	// A failed authentication: not charged, said so.
	s2 := e.owing("Vic", "p1", "10.1.0.62", due(-30), 3000)
	b2 := e.browser()
	b2.signInWithCode(s2.account)
	form = b2.payPage()
	p = b2.post("/pay", merge(cardForm("pm_card_authenticationRequired"), url.Values{"csrf": {form.hidden(t, "csrf")},
		"key": {form.hidden(t, "key")}, "choice": {"balance"}})).must(t, 200)
	m = authLinkRE.FindStringSubmatch(p.body)
	intent = m[1][strings.LastIndex(m[1], "/")+1:]
	if _, _, err := e.sb.Authenticate(ctx, intent, false); err != nil {
		t.Fatal(err)
	}
	b2.get("/pay/return?payment_intent="+intent).must(t, 402, "Your bank did not confirm the payment", "You were not charged")
}

// Saving a card whose bank asks for 3-D Secure: stored only once the bank
// approved, on the return.
func TestSaveMethodWithThreeDSecure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := e.owing("Wren", "p1", "10.1.0.63", due(20), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	m := b.get("/methods")
	p := b.post("/methods", merge(cardForm("pm_card_authenticationRequired"), url.Values{"csrf": {m.hidden(t, "csrf")},
		"key": {m.hidden(t, "key")}, "default": {"1"}})).must(t, 200, "Your bank asks you to confirm this card")
	link := authLinkRE.FindStringSubmatch(p.body)[1]
	seti := link[strings.LastIndex(link, "/")+1:]
	if ms, _ := e.db.PaymentMethods(ctx, s.account.ID); len(ms) != 0 {
		t.Fatalf("stored before the bank approved: %+v", ms)
	}
	if _, _, err := e.sb.Authenticate(ctx, seti, true); err != nil {
		t.Fatal(err)
	}
	b.get("/methods/return?default=1&setup_intent="+seti).must(t, 200, "The payment method was added", "ending 3184", "(default)")
	b.get("/methods/return?default=1&setup_intent="+seti).must(t, 200, "ending 3184")
	if ms, _ := e.db.PaymentMethods(ctx, s.account.ID); len(ms) != 1 || ms[0].Customer == "" {
		t.Fatalf("methods after the return (twice): %+v", ms)
	}
}

// The Content-Security-Policy names no outside origin with the sandbox
// (only its own origin as frame-src) and exactly Stripe's documented ones
// with Stripe, whose pages load Stripe.js.
func TestPaymentFieldsContentSecurityPolicy(t *testing.T) {
	sandbox := newEnv(t, func(c *portal.Config) {
		c.Element = payments.Element{Gateway: "sandbox", Origin: "http://127.0.0.1:8091"}
	})
	s := sandbox.owing("Xia", "p1", "10.1.0.64", due(20), 5000)
	b := sandbox.browser()
	b.signInWithCode(s.account)
	p := b.get("/pay").must(t, 200)
	if got, want := p.header.Get("Content-Security-Policy"), "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; frame-src http://127.0.0.1:8091; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"; got != want {
		t.Errorf("sandbox CSP\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(p.body, `data-origin="http://127.0.0.1:8091"`) || strings.Contains(p.body, "stripe.com") || strings.Contains(p.body, `name="number"`) {
		t.Errorf("sandbox pay page:\n%s", p.body)
	}

	st := newEnv(t, func(c *portal.Config) { c.Element = payments.Element{Gateway: "stripe", PublishableKey: "pk_test_123"} })
	s = st.owing("Yves", "p1", "10.1.0.65", due(20), 5000)
	b = st.browser()
	b.signInWithCode(s.account)
	p = b.get("/methods").must(t, 200)
	if got, want := p.header.Get("Content-Security-Policy"), "default-src 'none'; style-src 'self'; script-src 'self' https://js.stripe.com; img-src 'self'; connect-src 'self' https://api.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"; got != want {
		t.Errorf("stripe CSP\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(p.body, `<script src="https://js.stripe.com/v3"></script>`) || !strings.Contains(p.body, `data-key="pk_test_123"`) ||
		!strings.Contains(p.body, `data-mode="setup"`) {
		t.Errorf("stripe methods page:\n%s", p.body)
	}
	js := b.get("/static/payelement.js").must(t, 200, "tollgate-create-method", "createPaymentMethod")
	_ = js
}
