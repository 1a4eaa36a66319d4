// Package oidctest runs a real OpenID Connect provider on 127.0.0.1 for
// tests: zitadel's provider (github.com/zitadel/oidc/v3/pkg/op) with its
// example storage and login page (example/server), in the test process.
// It serves discovery, an RS256 key set, the authorization endpoint with a
// username and password form, the token endpoint (client secret, PKCE,
// single-use codes) and UserInfo — no hand-written fake.
//
//	p := oidctest.Start(t, []string{consoleURL + "/staff/sso/callback"},
//		oidctest.User{Username: "ann", Password: "pw", Email: "ann@isp.example", EmailVerified: true,
//			IDTokenClaims: map[string]any{"groups": []string{"tollgate-billing"}}})
//	cfg := sso.Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, ...}
//
// A browser sent to the authorization URL lands on the login form
// (fields "username" and "password", a submit button); Login fills it in
// for an http.Client. As the specification has it, the provider's ID
// tokens carry only the subject and a user's IDTokenClaims (groups, as
// Keycloak and Entra ID put them there) when an access token is issued;
// e-mail and name come from UserInfo.
//
// The example provider logs each request through the default slog
// logger (visible with go test -v).
package oidctest
