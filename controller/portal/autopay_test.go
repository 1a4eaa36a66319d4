package portal_test

import (
	"context"
	"net/url"
	"testing"
)

// The methods page says what turning autopay on does, and it does that:
// nothing is charged at once; the past-due balance is shown as the
// subscriber's to pay, with a way to pay it now.
func TestAutopayPageSaysWhatTurningItOnDoes(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Ned", "p1", "10.1.0.70", due(-30), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	m := b.get("/methods").must(t, 200, "Autopay is off", "Turning it on charges nothing now", "past-due balance of $50.00", "Pay it now")
	b.post("/methods", merge(cardForm(goodCard), url.Values{"csrf": {m.hidden(t, "csrf")}, "key": {m.hidden(t, "key")}, "default": {"1"}})).must(t, 200, "The payment method was added")
	m = b.get("/methods")
	b.post("/autopay", url.Values{"csrf": {m.hidden(t, "csrf")}, "enabled": {"on"}}).
		must(t, 200, "Autopay is on", "Nothing was charged now", "due date", "past-due balance of $50.00 is yours to pay", "Pay it now")
	var attempts int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_attempts WHERE account_id = $1`, s.account.ID).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 0 {
		t.Fatalf("%d charges when autopay was turned on, want 0", attempts)
	}
}
