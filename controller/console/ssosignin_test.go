package console_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/console"
	"github.com/tollgate-isp/tollgate/controller/sso"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/oidctest"
)

// TestSSOSignIn signs staff in through a real OpenID Connect provider
// (zitadel's, in the test process): a person in the billing group gets a
// billing session (the code flow with PKCE, state and nonce checked by
// controller/sso), the staff user made for them is named in the audit of
// what they do; a person no rule maps is refused.
func TestSSOSignIn(t *testing.T) {
	var provider *oidctest.Provider
	e := newEnvWith(t, func(base string, cfg *console.Config, deps *console.Deps) {
		provider = oidctest.Start(t, []string{base + "/sso/callback"},
			oidctest.User{Username: "ann", Password: "ann's password", FirstName: "Ann", LastName: "Lee", Email: "ann@isp.example",
				EmailVerified: true, IDTokenClaims: map[string]any{"groups": []string{"tollgate-billing"}}},
			oidctest.User{Username: "mal", Password: "mal's password", FirstName: "Mal", Email: "mal@elsewhere.example", EmailVerified: true})
		cfg.SSO = sso.Config{Name: "Prairie Fiber account", Issuer: provider.Issuer, ClientID: provider.ClientID, ClientSecret: provider.ClientSecret,
			RedirectURL: base + "/sso/callback", Rules: []staff.SSORule{{Claim: "groups", Value: "tollgate-billing", Role: staff.RoleBilling}}}
		flow, err := sso.New(cfg.SSO, sso.Options{Key: []byte(strings.Repeat("k", 32))})
		if err != nil {
			t.Fatal(err)
		}
		deps.SSO = flow
	})

	signIn := func(username, password string) (*http.Client, *http.Response) {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		if p := e.browser(); !strings.Contains(p.get("/signin").body, "Sign in with Prairie Fiber account") {
			t.Fatal("the sign-in page has no SSO button")
		}
		page, err := browser.Get(e.url + "/sso/start?next=" + url.QueryEscape("/staff/"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := provider.Login(browser, page, username, password)
		if err != nil {
			t.Fatal(err)
		}
		return browser, resp
	}

	_, resp := signIn("ann", "ann's password")
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/staff/" || !strings.Contains(body, "Ann Lee · billing") {
		t.Fatalf("ann after SSO: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if n := e.count(`SELECT count(*) FROM staff_users WHERE login = 'ann' AND role = 'billing'`); n != 1 {
		t.Errorf("no billing staff user ann made for the SSO identity")
	}

	_, resp = signIn("mal", "mal's password")
	body = readAll(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Single sign-on did not work") {
		t.Errorf("an unmapped person: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if n := e.count(`SELECT count(*) FROM staff_users WHERE login = 'mal'`); n != 0 {
		t.Errorf("a staff user was made for an unmapped person")
	}
}
