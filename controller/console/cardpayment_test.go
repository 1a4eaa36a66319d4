package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/console"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// Staff take a card by phone through the processor's fields: the account
// page embeds them (its CSP allows exactly the sandbox's origin as a
// frame), the form posts only the processor's method id, the review
// restates what will happen and writes nothing, the apply step saves the
// method and charges it once; a reader sees no form and is refused.
func TestTakeACardByPhone(t *testing.T) {
	e := newEnvWith(t, func(_ string, cfg *console.Config, _ *console.Deps) {
		cfg.Element = payments.Element{Gateway: "sandbox", Origin: "http://127.0.0.1:8091"}
	})
	c := e.customer("Jane Doe")
	clerk := e.signIn(e.addStaff("clerk", staff.RoleBilling, false))
	path := "/accounts/" + itoa(c.account.ID)

	p := clerk.get(path)
	if !strings.Contains(p.body, `data-origin="http://127.0.0.1:8091"`) || !strings.Contains(p.body, "Take a card or bank account by phone") ||
		strings.Contains(p.body, `name="number"`) {
		t.Fatalf("account page:\n%s", p.body)
	}
	resp, err := clerk.http.Get(e.url + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src http://127.0.0.1:8091;") || strings.Contains(csp, "stripe") {
		t.Fatalf("CSP %s", csp)
	}
	if js := clerk.get("/static/payelement.js"); js.status != 200 || !strings.Contains(js.body, "tollgate-create-method") {
		t.Fatalf("payelement.js: %d", js.status)
	}

	review := clerk.post(path, path+"/act/card", url.Values{"payment_method": {"pm_card_visa"}, "amount": {"20.00"}, "default": {"1"}})
	if review.status != http.StatusOK || !strings.Contains(review.body, "Save the card or bank account") || !strings.Contains(review.body, "charge USD 20.00") {
		t.Fatalf("review: %d\n%s", review.status, review.body)
	}
	if n := e.count(`SELECT count(*) FROM payment_methods`); n != 0 {
		t.Fatalf("the review saved %d methods", n)
	}
	confirm := url.Values{}
	for _, f := range []string{"csrf", "idem", "step", "payment_method", "amount", "default"} {
		confirm.Set(f, field(t, review.body, f))
	}
	for i := 0; i < 2; i++ { // a double click
		if p := clerk.do(http.MethodPost, path+"/act/card", confirm); p.status != http.StatusSeeOther || !strings.Contains(p.location, "done=card") {
			t.Fatalf("apply %d: %d %q\n%s", i, p.status, p.location, p.body)
		}
	}
	if n := e.count(`SELECT count(*) FROM payment_methods WHERE last4 = '4242' AND is_default`); n != 1 {
		t.Fatalf("%d default methods ending 4242, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM payment_attempts WHERE status = 'succeeded' AND amount = 2000`); n != 1 {
		t.Fatalf("%d succeeded attempts of 20.00, want 1", n)
	}

	// Without the processor's id (no JavaScript): the error says why.
	bad := clerk.post(path, path+"/act/card", url.Values{"amount": {"5.00"}})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "payment_method") {
		t.Fatalf("no method id: %d\n%s", bad.status, bad.body)
	}

	reader := e.signIn(e.addStaff("rita", staff.RoleReader, false))
	if p := reader.get(path); strings.Contains(p.body, "act/card") {
		t.Error("a reader sees the card form")
	}
	if p := reader.post(path, path+"/act/card", url.Values{"payment_method": {"pm_card_visa"}, "step": {"apply"}}); p.status != http.StatusForbidden {
		t.Fatalf("a reader's post: %d", p.status)
	}
	if n := e.count(`SELECT count(*) FROM payment_methods`); n != 1 {
		t.Fatalf("%d methods after the reader's post, want 1", n)
	}
}
