package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// TestSignIn covers the console's sign-in: a page needs a session, a
// password then a TOTP code, wrong codes refused, the CSRF token required,
// sign-out ending the session.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	ada := e.addStaff("ada", staff.RoleAdmin, false)
	clerk := e.addStaff("clerk", staff.RoleBilling, false)

	anon := e.browser()
	if p := anon.get("/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/staff/signin?next=") {
		t.Fatalf("without a session, want a redirect to sign in, got %d %q", p.status, p.location)
	}
	if p := anon.do(http.MethodPost, "/signin", url.Values{"login": {"clerk"}, "password": {clerk.Password}}); p.status != http.StatusForbidden {
		t.Errorf("a sign-in without the form's CSRF token: got %d, want 403", p.status)
	}
	if p := anon.post("/signin", "/signin", url.Values{"login": {"clerk"}, "password": {"wrong password here"}}); p.status != http.StatusUnauthorized ||
		!strings.Contains(p.body, "login or password is wrong") {
		t.Errorf("a wrong password: got %d:\n%s", p.status, p.body)
	}

	// An admin: the password, then a wrong code, then the right one.
	b := e.browser()
	p := b.post("/signin", "/signin", url.Values{"login": {"ada"}, "password": {ada.Password}, "next": {"/staff/"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="code"`) || strings.Contains(p.body, ada.Password) {
		t.Fatalf("after the password: want the code page (without the password in it), got %d:\n%s", p.status, p.body)
	}
	p = b.do(http.MethodPost, "/signin/code", url.Values{"csrf": {field(t, p.body, "csrf")}, "code": {"000000"}, "next": {"/staff/"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "the code is wrong") || !strings.Contains(p.body, `name="code"`) {
		t.Fatalf("a wrong code: want the code page again with the error, got %d:\n%s", p.status, p.body)
	}
	code, _ := staff.TOTPCode(ada.TOTP, staff.TOTPStep(e.clock.Now()))
	p = b.do(http.MethodPost, "/signin/code", url.Values{"csrf": {field(t, p.body, "csrf")}, "code": {code}, "next": {"/staff/"}})
	if p.status != http.StatusSeeOther || p.location != "/staff/" {
		t.Fatalf("the right code: got %d %q:\n%s", p.status, p.location, p.body)
	}
	dash := b.get("/")
	if dash.status != http.StatusOK || !strings.Contains(dash.body, "Dashboard") || !strings.Contains(dash.body, "Ada · admin") {
		t.Fatalf("the dashboard: %d\n%s", dash.status, dash.body)
	}
	if !strings.Contains(dash.body, `href="/staff/settings"`) {
		t.Errorf("an admin sees the settings link")
	}

	// next is kept inside the console.
	e.clock.Add(30 * time.Second)
	c := e.browser()
	p = c.post("/signin", "/signin", url.Values{"login": {"clerk"}, "password": {clerk.Password}, "next": {"https://evil.example/"}})
	if p.status != http.StatusSeeOther || p.location != "/staff/" {
		t.Errorf("an outside next: got %d %q, want the dashboard", p.status, p.location)
	}
	if strings.Contains(c.get("/").body, `href="/staff/settings"`) {
		t.Errorf("a billing clerk sees no settings link")
	}

	// Sign-out ends the session on the server.
	if p := b.post("/", "/signout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out the session is over: got %d", p.status)
	}

	// Idle: 30 minutes without use ends a session.
	e.clock.Add(31 * time.Minute)
	if p := c.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: got %d, want a redirect to sign in", p.status)
	}
}

// TestChangeOwnPassword: a clerk changes their own password in the console
// (the current one checked, the new one twice); every session of theirs
// ends, and the new password signs in.
func TestChangeOwnPassword(t *testing.T) {
	e := newEnv(t)
	u := e.addStaff("clerk", staff.RoleBilling, false)
	b := e.signIn(u)
	other := e.signIn(u) // another browser of the same clerk
	if p := b.post("/password", "/password", url.Values{"current": {"wrong password!!"}, "password": {"a brand new passphrase"}, "repeat": {"a brand new passphrase"}}); p.status != http.StatusForbidden ||
		!strings.Contains(p.body, "not your password now") {
		t.Errorf("a wrong current password: %d\n%s", p.status, p.body)
	}
	if p := b.post("/password", "/password", url.Values{"current": {u.Password}, "password": {"a brand new passphrase"}, "repeat": {"a brand new typo"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("two different entries: %d", p.status)
	}
	p := b.post("/password", "/password", url.Values{"current": {u.Password}, "password": {"a brand new passphrase"}, "repeat": {"a brand new passphrase"}})
	if p.status != http.StatusSeeOther || p.location != "/staff/signin?changed=1" {
		t.Fatalf("change: %d %q\n%s", p.status, p.location, p.body)
	}
	if p := other.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("the clerk's other session still works after the change: %d", p.status)
	}
	e.clock.Add(time.Minute)
	u.Password = "a brand new passphrase"
	e.signIn(u)
}
