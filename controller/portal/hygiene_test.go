package portal_test

import (
	"context"
	"net/url"
	"testing"
)

// A form value with a control character (NUL in a ticket's subject, an
// escape in its message) is refused with 422 naming the field, and nothing
// is stored; line breaks in the message are fine.
func TestPortalFormsRefuseControlCharacters(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Hana", "p1", "10.1.0.8", due(20), 5000)
	b := e.browser()
	b.signInWithCode(s.account)
	tp := b.get("/tickets").must(t, 200, "No tickets yet")
	b.post("/tickets", url.Values{"csrf": {tp.hidden(t, "csrf")}, "subject": {"Slow\x00"}, "body": {"x"}}).must(t, 422, "subject")
	b.post("/tickets", url.Values{"csrf": {tp.hidden(t, "csrf")}, "subject": {"Slow"}, "body": {"x\x1b[2J"}}).must(t, 422, "body")
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tickets stored (%v) from refused forms", n, err)
	}
	b.post("/tickets", url.Values{"csrf": {tp.hidden(t, "csrf")}, "subject": {"Slow"}, "body": {"line one\r\nline two"}}).must(t, 200, "Your ticket was sent")
}
