package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestSearch: a substring of the name lists the account with its status
// and balance; an exact account number opens the account; htmx gets the
// results alone.
func TestSearch(t *testing.T) {
	e := newEnv(t)
	c := e.customer("Jane Doe")
	b := e.signIn(e.addStaff("rita", staff.RoleReader, false))

	p := b.get("/search?q=" + url.QueryEscape("jane"))
	if p.status != http.StatusOK || !strings.Contains(p.body, c.account.Number) || !strings.Contains(p.body, "USD 50.00") ||
		!strings.Contains(p.body, "<h1>Search</h1>") {
		t.Fatalf("search by name: %d\n%s", p.status, p.body)
	}
	if p := b.get("/search?q=" + c.account.Number); p.status != http.StatusSeeOther || p.location != "/staff/accounts/"+itoa(c.account.ID) {
		t.Errorf("an exact account number: %d %q, want the account", p.status, p.location)
	}
	frag := b.do(http.MethodGet, "/search?q=jan", nil, "HX-Request", "true")
	if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, c.account.Number) {
		t.Errorf("htmx search: %d\n%s", frag.status, frag.body)
	}
	if p := b.get("/search?q=zzzzzz"); !strings.Contains(p.body, "No account matches") {
		t.Errorf("no match:\n%s", p.body)
	}
}
