package sso

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/oidctest"
)

// The provider in these tests is zitadel's OpenID provider with its
// example storage and login page (internal/oidctest), run in the test
// process: a real provider issuing RS256-signed ID tokens, enforcing PKCE
// and single-use codes. Its ID tokens carry only sub and the users'
// extra claims (groups, as Keycloak and Entra ID put them there); e-mail
// and name come from its UserInfo endpoint, so the flow's UserInfo top-up
// is exercised too.

const testPassword = "correct horse battery"

var testUsers = []oidctest.User{
	{Subject: "u-ann", Username: "ann", Password: testPassword, FirstName: "Ann", LastName: "Lee", Email: "ann@elsewhere.example", EmailVerified: true,
		IDTokenClaims: map[string]any{"groups": []string{"staff", "tollgate-billing"}}},
	{Subject: "u-bob", Username: "bob", Password: testPassword, FirstName: "Bob", LastName: "Roe", Email: "bob@isp.example", EmailVerified: true},
	{Subject: "u-eve", Username: "eve", Password: testPassword, FirstName: "Eve", Email: "eve@isp.example", EmailVerified: false},
	{Subject: "u-mal", Username: "mal", Password: testPassword, FirstName: "Mal", Email: "mal@elsewhere.example", EmailVerified: true},
}

var testRules = []staff.SSORule{
	{Claim: "groups", Value: "tollgate-billing", Role: staff.RoleBilling},
	{EmailDomain: "isp.example", Role: staff.RoleReader},
}

// env is a provider, a stand-in for the console (its /staff/sso/start
// and /staff/sso/callback routes call the flow as the console does) and a
// browser (a client with a cookie jar).
type env struct {
	flow     *Flow
	clock    *clock.Offset
	provider *oidctest.Provider
	issuer   string
	console  *httptest.Server
	callback string
	jar      http.CookieJar
}

func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	e := &env{clock: &clock.Offset{}}
	mux := http.NewServeMux()
	e.console = httptest.NewServer(mux)
	t.Cleanup(e.console.Close)
	e.callback = e.console.URL + "/staff/sso/callback"
	e.provider = oidctest.Start(t, []string{e.callback}, testUsers...)
	e.issuer = e.provider.Issuer

	cfg := Config{Issuer: e.issuer, ClientID: e.provider.ClientID, ClientSecret: e.provider.ClientSecret, RedirectURL: e.callback, Rules: testRules}
	if tweak != nil {
		tweak(&cfg)
	}
	var err error
	e.flow, err = New(cfg, Options{Key: []byte(strings.Repeat("k", 32)), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /staff/sso/start", func(w http.ResponseWriter, r *http.Request) {
		authURL, fs, err := e.flow.Start(r.Context(), r.URL.Query().Get("return"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, e.flow.FlowCookie(fs))
		http.Redirect(w, r, authURL, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /staff/sso/callback", func(w http.ResponseWriter, r *http.Request) {
		var fs string
		if c, err := r.Cookie(CookieName); err == nil {
			fs = c.Value
		}
		http.SetCookie(w, e.flow.ClearFlowCookie())
		id, returnTo, err := e.flow.Finish(r.Context(), r.URL.Query(), fs)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(struct {
			ID       Identity
			ReturnTo string
		}{id, returnTo})
	})
	e.jar, _ = cookiejar.New(nil)
	return e
}

// signIn plays the browser: the console's start route, the provider's
// login page (its form filled in) and back, stopping before the console's
// callback. It returns the callback's query and the flow state cookie.
func (e *env) signIn(t *testing.T, username, returnTo string) (url.Values, string) {
	t.Helper()
	var callback *url.URL
	browser := &http.Client{Jar: e.jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), e.callback) {
			callback = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	page, err := browser.Get(e.console.URL + "/staff/sso/start?return=" + url.QueryEscape(returnTo))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.provider.Login(browser, page, username, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if callback == nil {
		t.Fatalf("login as %s: %s, not sent to the callback:\n%s", username, resp.Status, body)
	}
	var fs string
	for _, c := range e.jar.Cookies(callback) {
		if c.Name == CookieName {
			fs = c.Value
		}
	}
	if fs == "" {
		t.Fatal("the browser holds no flow state cookie for the callback")
	}
	return callback.Query(), fs
}

// finishInConsole follows the callback to the console, as the browser
// would, and returns the console's answer.
func (e *env) finishInConsole(t *testing.T, q url.Values) (int, string) {
	t.Helper()
	browser := &http.Client{Jar: e.jar}
	resp, err := browser.Get(e.callback + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func isCode(err error, code billing.Code, says string) bool {
	return billing.ErrorCode(err) == code && strings.Contains(err.Error(), says)
}

func TestSignInMapsGroupsFromTheIDTokenAndEmailFromUserInfo(t *testing.T) {
	e := newEnv(t, nil)
	q, fs := e.signIn(t, "ann", "/staff/accounts/7")
	status, body := e.finishInConsole(t, q)
	if status != http.StatusOK {
		t.Fatalf("callback: %d %s", status, body)
	}
	var got struct {
		ID       Identity
		ReturnTo string
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := Identity{Issuer: e.issuer, Subject: "u-ann", Email: "ann@elsewhere.example", EmailVerified: true, Name: "Ann Lee",
		Role: staff.RoleBilling, Rule: `rule 0 (groups contains "tollgate-billing")`}
	if got.ID != want || got.ReturnTo != "/staff/accounts/7" {
		t.Errorf("signed in as %+v returning to %q; want %+v to /staff/accounts/7", got.ID, got.ReturnTo, want)
	}
	for _, c := range e.jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.console.URL, "http://"), Path: CookiePath}) {
		if c.Name == CookieName {
			t.Error("the console's callback left the flow state cookie in place")
		}
	}
	// The same callback again (a replay, or the back button): the
	// provider has used up the code.
	if _, _, err := e.flow.Finish(context.Background(), q, fs); !isCode(err, billing.EUNAUTHORIZED, "did not accept the authorization code: invalid_grant") {
		t.Errorf("replayed callback: %v", err)
	}
}

func TestSignInByVerifiedEmailDomain(t *testing.T) {
	e := newEnv(t, nil)
	q, fs := e.signIn(t, "bob", "https://evil.example/phish")
	id, returnTo, err := e.flow.Finish(context.Background(), q, fs)
	if err != nil || id.Role != staff.RoleReader || id.Subject != "u-bob" || id.Name != "Bob Roe" || returnTo != "" {
		t.Errorf("Finish = %+v, %q, %v; want bob as reader, returning nowhere off-site", id, returnTo, err)
	}
}

func TestUnmappedUserIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	q, _ := e.signIn(t, "mal", "")
	status, body := e.finishInConsole(t, q)
	if status != http.StatusUnauthorized || !strings.Contains(body, "unauthorized: single sign-on: mal@elsewhere.example matches no role rule") {
		t.Errorf("unmapped user: %d %s", status, body)
	}
}

func TestUnverifiedEmailMatchesNoDomainRule(t *testing.T) {
	e := newEnv(t, nil)
	q, fs := e.signIn(t, "eve", "")
	if _, _, err := e.flow.Finish(context.Background(), q, fs); !isCode(err, billing.EUNAUTHORIZED, "does not say the e-mail is verified") {
		t.Errorf("eve@isp.example, unverified: %v", err)
	}
}

func TestTamperedStateIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	q, fs := e.signIn(t, "ann", "")

	forged := url.Values{"code": {q.Get("code")}, "state": {q.Get("state") + "x"}}
	if _, _, err := e.flow.Finish(ctx, forged, fs); !isCode(err, billing.EUNAUTHORIZED, "state does not match") {
		t.Errorf("altered state: %v", err)
	}
	b := []byte(fs)
	b[len(b)/2] ^= 1
	if _, _, err := e.flow.Finish(ctx, q, string(b)); !isCode(err, billing.EUNAUTHORIZED, "flow state is not valid") {
		t.Errorf("altered flow state: %v", err)
	}
	if _, _, err := e.flow.Finish(ctx, q, ""); !isCode(err, billing.EUNAUTHORIZED, "flow state is missing") {
		t.Errorf("no flow state: %v", err)
	}
	// Another browser's sign-in: its own flow state, this callback.
	_, other := e.signIn(t, "bob", "")
	if _, _, err := e.flow.Finish(ctx, q, other); !isCode(err, billing.EUNAUTHORIZED, "state does not match") {
		t.Errorf("crossed callback: %v", err)
	}
	// A flow state sealed for another configuration (another client).
	e2 := *e
	e2.flow, _ = New(Config{Issuer: e.issuer, ClientID: "other", ClientSecret: "x", RedirectURL: e.callback, Rules: testRules},
		Options{Key: []byte(strings.Repeat("k", 32)), Clock: e.clock})
	if _, _, err := e2.flow.Finish(ctx, q, fs); !isCode(err, billing.EUNAUTHORIZED, "flow state is not valid") {
		t.Errorf("flow state of another configuration: %v", err)
	}
	// None of that used up the code: the real pair still signs in.
	if id, _, err := e.flow.Finish(ctx, q, fs); err != nil || id.Role != staff.RoleBilling {
		t.Errorf("after the refusals, the genuine callback: %+v, %v", id, err)
	}
}

// reseal opens a flow state, changes it and seals it again: what an
// attacker who knew the key could do, to show the provider and the ID
// token checks stand on their own.
func reseal(t *testing.T, f *Flow, fs string, change func(*flowData)) string {
	t.Helper()
	st, err := f.sealer.open(fs, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	change(&st)
	sealed, err := f.sealer.seal(st, f.rand)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestOtherNonceIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	q, fs := e.signIn(t, "ann", "")
	// The ID token carries the nonce of the sign-in that was started; a
	// flow state expecting another (a token replayed into another sign-in)
	// is refused after a successful exchange.
	other := reseal(t, e.flow, fs, func(s *flowData) { s.Nonce = "another-sign-ins-nonce" })
	if _, _, err := e.flow.Finish(context.Background(), q, other); !isCode(err, billing.EUNAUTHORIZED, "nonce does not match") {
		t.Errorf("other nonce: %v", err)
	}
}

func TestPKCEVerifierIsChecked(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	authURL, _, err := e.flow.Start(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if a := u.Query(); a.Get("code_challenge_method") != "S256" || a.Get("code_challenge") == "" || a.Get("nonce") == "" || a.Get("state") == "" ||
		a.Get("scope") != "openid email profile" || a.Get("redirect_uri") != e.callback {
		t.Errorf("authorization URL %s lacks PKCE S256, nonce, state, scopes or the redirect", authURL)
	}
	q, fs := e.signIn(t, "ann", "")
	wrong := reseal(t, e.flow, fs, func(s *flowData) { s.Verifier = strings.Repeat("v", 43) })
	if _, _, err := e.flow.Finish(ctx, q, wrong); !isCode(err, billing.EUNAUTHORIZED, "did not accept the authorization code: invalid_grant") {
		t.Errorf("wrong PKCE verifier: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, nil)
	q, fs := e.signIn(t, "ann", "")
	e.clock.Advance(DefaultFlowTimeout + time.Second)
	if _, _, err := e.flow.Finish(context.Background(), q, fs); !isCode(err, billing.EUNAUTHORIZED, "took too long") {
		t.Errorf("after the flow timeout: %v", err)
	}

	// The provider's ID tokens live an hour; with a flow timeout longer
	// than that, the token's own expiry refuses it (by the flow's clock).
	e = newEnv(t, func(c *Config) { c.FlowTimeout = 3 * time.Hour })
	q, fs = e.signIn(t, "ann", "")
	e.clock.Advance(2 * time.Hour)
	if _, _, err := e.flow.Finish(context.Background(), q, fs); !isCode(err, billing.EUNAUTHORIZED, "ID token is not valid: oidc: token is expired") {
		t.Errorf("expired ID token: %v", err)
	}
}

func TestProviderErrorIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	_, fs, err := e.flow.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.flow.sealer.open(fs, e.clock.Now())
	q := url.Values{"error": {"access_denied"}, "error_description": {"user cancelled"}, "state": {st.State}}
	if _, _, err := e.flow.Finish(context.Background(), q, fs); !isCode(err, billing.EUNAUTHORIZED, "answered access_denied: user cancelled") {
		t.Errorf("provider error: %v", err)
	}
	q = url.Values{"state": {st.State}}
	if _, _, err := e.flow.Finish(context.Background(), q, fs); !isCode(err, billing.EINVALID, "code:") {
		t.Errorf("no code: %v", err)
	}
}

func TestWrongIssuerIsAnError(t *testing.T) {
	e := newEnv(t, nil)
	f, err := New(Config{Issuer: strings.TrimSuffix(e.issuer, "/"), ClientID: e.provider.ClientID, ClientSecret: e.provider.ClientSecret, RedirectURL: e.callback, Rules: testRules},
		Options{Key: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Start(context.Background(), ""); !isCode(err, billing.EINTERNAL, "did not match the issuer URL") {
		t.Errorf("issuer without its trailing slash: %v", err)
	}
}
