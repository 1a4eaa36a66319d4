package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Identity is a person who signed in, with the role the rules gave them
// (staff.SSOIdentity; the store links it to a staff user).
type Identity = staff.SSOIdentity

// Options are what a Flow needs besides its Config.
type Options struct {
	// Key seals the flow states (at least MinKeyLen bytes, secret, the
	// same on every controller replica; e.g. from the controller's
	// secrets). Required.
	Key []byte
	// Clock tells the time for flow state and ID token expiry. Default
	// the real clock.
	Clock clock.Clock
	// HTTPClient talks to the provider (discovery, keys, token,
	// UserInfo). Default: a client with a 15 second timeout.
	HTTPClient *http.Client
	// Logger logs refusals and provider trouble. Default: discards.
	Logger *slog.Logger
	// Rand makes state, nonce and PKCE verifier. Default crypto/rand.
	Rand io.Reader
}

// Flow runs the OpenID Connect authorization code flow with PKCE for the
// console: Start sends the browser to the provider, Finish takes the
// browser's callback and returns who signed in. It is safe for
// concurrent use.
type Flow struct {
	cfg    Config
	clock  clock.Clock
	client *http.Client
	log    *slog.Logger
	rand   io.Reader
	sealer sealer
	secure bool // the redirect URL is https: the cookie is Secure
	// cookiePath is the redirect URL's directory ("/staff/sso/"), where
	// the start and callback routes are.
	cookiePath string

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// New checks cfg (errors name the field, EINVALID), reads its client
// secret file and returns the flow. It does not talk to the provider: the
// provider's discovery document is fetched on the first Start or Finish
// (or Discover), so a provider that is down does not stop the controller.
func New(cfg Config, opts Options) (*Flow, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := newSealer(opts.Key, cfg.Issuer, cfg.ClientID, cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	f := &Flow{cfg: cfg, clock: opts.Clock, client: opts.HTTPClient, log: opts.Logger, rand: opts.Rand, sealer: s,
		secure: strings.HasPrefix(cfg.RedirectURL, "https:"), cookiePath: CookiePath}
	if u, err := url.Parse(cfg.RedirectURL); err == nil && u.Path != "" {
		f.cookiePath = path.Dir(u.Path) + "/"
	}
	if f.clock == nil {
		f.clock = clock.Real{}
	}
	if f.client == nil {
		f.client = &http.Client{Timeout: 15 * time.Second}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.rand == nil {
		f.rand = rand.Reader
	}
	return f, nil
}

// Name is what the sign-in button says: "Sign in with " + Name().
func (f *Flow) Name() string { return f.cfg.Name }

// Discover fetches the provider's discovery document if it has not been
// yet (Start and Finish do so themselves; call it at start-up to log a
// misconfiguration early).
func (f *Flow) Discover(ctx context.Context) error {
	_, _, err := f.discover(ctx)
	return err
}

func (f *Flow) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider != nil {
		return f.provider, f.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, f.client), f.cfg.Issuer)
	if err != nil {
		f.log.ErrorContext(ctx, "sso: provider discovery failed", "issuer", f.cfg.Issuer, "err", err)
		return nil, nil, billing.Errorf(billing.EINTERNAL, "single sign-on: the identity provider %s could not be reached or misdescribes itself: %v", f.cfg.Issuer, err)
	}
	f.provider = p
	f.verifier = p.Verifier(&oidc.Config{ClientID: f.cfg.ClientID, Now: f.clock.Now})
	return f.provider, f.verifier, nil
}

func (f *Flow) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: f.cfg.RedirectURL, Scopes: f.cfg.Scopes}
}

// Start begins a sign-in. It returns the provider's authorization URL to
// redirect the browser to (303), and the flow state to keep in the
// browser until the callback (FlowCookie makes the cookie). returnTo is
// where the console should go after signing in; it is kept only if it is
// a path on this site ("/staff/accounts/7"), otherwise "" is kept (the
// console then picks its home page), so the callback cannot be turned
// into an open redirect.
//
// The flow state is sealed (AES-256-GCM with a key derived from
// Options.Key, bound to this configuration): it holds a fresh random
// state and nonce, the PKCE verifier (the provider gets its S256
// challenge), returnTo and an expiry FlowTimeout from now. Nothing is
// kept on the server.
func (f *Flow) Start(ctx context.Context, returnTo string) (authURL, flowState string, err error) {
	p, _, err := f.discover(ctx)
	if err != nil {
		return "", "", err
	}
	fs := flowData{ReturnTo: localPath(returnTo), Expires: f.clock.Now().Add(f.cfg.FlowTimeout).Unix()}
	for _, dst := range []*string{&fs.State, &fs.Nonce, &fs.Verifier} {
		if *dst, err = f.random(); err != nil {
			return "", "", err
		}
	}
	sealed, err := f.sealer.seal(fs, f.rand)
	if err != nil {
		return "", "", err
	}
	return f.oauth2Config(p).AuthCodeURL(fs.State, oidc.Nonce(fs.Nonce), oauth2.S256ChallengeOption(fs.Verifier)), sealed, nil
}

// random is 32 random bytes, base64url (43 characters: also a valid PKCE
// verifier).
func (f *Flow) random() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(f.rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// localPath returns s when it is a path on this site, else "".
func localPath(s string) string {
	u, err := url.Parse(s)
	if err != nil || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") ||
		u.Scheme != "" || u.Host != "" || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return ""
	}
	return s
}

// refused is a sign-in refusal: EUNAUTHORIZED, saying why.
func refused(format string, args ...any) error {
	return billing.Errorf(billing.EUNAUTHORIZED, "single sign-on refused: "+format, args...)
}

// Finish completes a sign-in from the provider's callback: callback is the
// callback request's query, flowState the value Start returned (from the
// cookie; clear the cookie whatever the outcome: a flow state is good for
// one sign-in). It checks, in order: the flow state opens and has not
// expired; the state matches; the provider reported no error; the code
// is exchanged (with client secret and PKCE verifier); the ID token's
// signature, issuer, audience (and authorized party when there are
// several audiences), expiry, nonce and access token hash. Claims the ID
// token lacks (e-mail, name, a claim a rule looks at) are taken from the
// provider's UserInfo answer when it has one, for the same subject. The
// person is then mapped to a role by the rules (staff.MapSSORole).
//
// It returns the identity and the returnTo given to Start ("" when none).
// Refusals are EUNAUTHORIZED (EINVALID for a callback without a code)
// saying why: a bad or expired flow state, a state or nonce mismatch, a
// token the provider or the checks refuse, or a person no rule maps.
func (f *Flow) Finish(ctx context.Context, callback url.Values, flowState string) (id Identity, returnTo string, err error) {
	fs, err := f.sealer.open(flowState, f.clock.Now())
	if err != nil {
		return id, "", refused("%v; start again", err)
	}
	if subtle.ConstantTimeCompare([]byte(callback.Get("state")), []byte(fs.State)) != 1 {
		return id, "", refused("the callback's state does not match this browser's sign-in (a forged or crossed callback); start again")
	}
	if e := callback.Get("error"); e != "" {
		desc := callback.Get("error_description")
		f.log.InfoContext(ctx, "sso: the provider refused the sign-in", "error", e, "description", desc)
		if desc != "" {
			e += ": " + desc
		}
		return id, "", refused("the identity provider answered %s", e)
	}
	code := callback.Get("code")
	if code == "" {
		return id, "", billing.Errorf(billing.EINVALID, "code: the callback carries no authorization code")
	}
	p, verifier, err := f.discover(ctx)
	if err != nil {
		return id, "", err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.client)
	tok, err := f.oauth2Config(p).Exchange(ctx, code, oauth2.VerifierOption(fs.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			f.log.InfoContext(ctx, "sso: the provider refused the code", "error", re.ErrorCode, "description", re.ErrorDescription)
			return id, "", refused("the identity provider did not accept the authorization code: %s %s", re.ErrorCode, re.ErrorDescription)
		}
		return id, "", fmt.Errorf("sso: exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return id, "", refused("the identity provider sent no ID token (is the openid scope allowed?)")
	}
	idt, err := verifier.Verify(oidc.ClientContext(ctx, f.client), raw)
	if err != nil {
		f.log.InfoContext(ctx, "sso: ID token refused", "err", err)
		return id, "", refused("the ID token is not valid: %v", err)
	}
	if idt.Subject == "" {
		return id, "", refused("the ID token names no subject (sub)")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(fs.Nonce)) != 1 {
		return id, "", refused("the ID token's nonce does not match this sign-in (a replayed or substituted token)")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return id, "", fmt.Errorf("sso: reading the ID token's claims: %w", err)
	}
	if aud := idt.Audience; len(aud) > 1 {
		if azp, _ := claims["azp"].(string); azp != f.cfg.ClientID {
			return id, "", refused("the ID token is for several audiences and its authorized party is %q, not this client", azp)
		}
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return id, "", refused("the access token does not match the ID token's at_hash")
		}
	}
	if missing := f.missingClaims(claims); len(missing) > 0 && p.UserInfoEndpoint() != "" {
		f.addUserInfo(oidc.ClientContext(ctx, f.client), p, tok, idt.Subject, claims, missing)
	}
	c := staff.SSOClaims{Email: str(claims["email"]), EmailVerified: isTrue(claims["email_verified"]),
		HostedDomain: str(claims["hd"]), Claims: claims}
	m, err := staff.MapSSORole(f.cfg.Rules, c)
	if err != nil {
		f.log.InfoContext(ctx, "sso: no role rule matched", "issuer", f.cfg.Issuer, "subject", idt.Subject, "email", c.Email,
			"email_verified", c.EmailVerified, "claims", slices.Sorted(maps.Keys(claims)))
		return id, "", err
	}
	return Identity{Issuer: f.cfg.Issuer, Subject: idt.Subject, Email: c.Email, EmailVerified: c.EmailVerified,
		Name: displayName(claims), Role: m.Role, Rule: m.Why}, localPath(fs.ReturnTo), nil
}

// missingClaims lists the claims the sign-in uses that the ID token
// lacks: e-mail, its verification, name, and the claims rules look at.
func (f *Flow) missingClaims(claims map[string]any) []string {
	want := []string{"email", "email_verified", "name"}
	for _, r := range f.cfg.Rules {
		if r.Claim != "" {
			want = append(want, r.Claim)
		}
	}
	var missing []string
	for _, k := range want {
		top, _, _ := strings.Cut(k, ".")
		if _, ok := claims[k]; !ok {
			if _, ok := claims[top]; !ok && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
	}
	return missing
}

// addUserInfo fills the missing claims from the provider's UserInfo
// answer if it is about the same subject. Trouble is logged, not fatal:
// the rules then decide on what the ID token says.
func (f *Flow) addUserInfo(ctx context.Context, p *oidc.Provider, tok *oauth2.Token, subject string, claims map[string]any, missing []string) {
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		f.log.WarnContext(ctx, "sso: UserInfo failed; going by the ID token alone", "issuer", f.cfg.Issuer, "missing", missing, "err", err)
		return
	}
	if ui.Subject != subject {
		f.log.WarnContext(ctx, "sso: UserInfo is about another subject; ignored", "issuer", f.cfg.Issuer, "id_token_sub", subject, "userinfo_sub", ui.Subject)
		return
	}
	more := map[string]any{}
	if err := ui.Claims(&more); err != nil {
		f.log.WarnContext(ctx, "sso: UserInfo claims unreadable; ignored", "err", err)
		return
	}
	for k, v := range more {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// isTrue reads email_verified: a JSON true, or "true" (some providers
// send a string).
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// displayName is the name claim, else given and family name, else the
// preferred user name.
func displayName(claims map[string]any) string {
	if n := strings.TrimSpace(str(claims["name"])); n != "" {
		return n
	}
	if n := strings.TrimSpace(str(claims["given_name"]) + " " + str(claims["family_name"])); n != "" {
		return n
	}
	return str(claims["preferred_username"])
}

// Cookie of the flow state: its name, and its path for a console at
// /staff (the path is the redirect URL's directory: where the console's
// sso/start and sso/callback routes are).
const (
	CookieName = "tollgate_sso_flow"
	CookiePath = "/staff/sso/"
)

// FlowCookie is the cookie that carries a flow state from Start to the
// callback: HttpOnly, Secure when the redirect URL is https, SameSite=Lax
// (not Strict: the callback is a navigation from the provider's site,
// which must carry it), living FlowTimeout.
func (f *Flow) FlowCookie(flowState string) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: flowState, Path: f.cookiePath, MaxAge: int(f.cfg.FlowTimeout / time.Second),
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode}
}

// ClearFlowCookie removes the flow state cookie (set it on the callback's
// answer, whatever the outcome).
func (f *Flow) ClearFlowCookie() *http.Cookie {
	c := f.FlowCookie("")
	c.MaxAge = -1
	return c
}
