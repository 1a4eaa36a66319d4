// Package sso signs staff in to the console through OpenID Connect single
// sign-on (Google Workspace, Entra ID, Keycloak, any conforming
// provider): the authorization code flow with PKCE (S256), state and
// nonce, over github.com/coreos/go-oidc/v3 and golang.org/x/oauth2.
//
// The console calls Flow.Start on /staff/sso/start (redirect the browser
// to the URL it returns and keep the flow state in the cookie FlowCookie
// makes) and Flow.Finish on /staff/sso/callback (with the callback's query
// and the cookie's value). Finish returns an Identity — issuer, subject,
// e-mail, name and the role the configured rules give
// (staff.MapSSORole) — or a refusal saying why. The store
// (controller/postgres, SignInStaffSSO) then finds or creates the linked
// staff user and the console starts an ordinary staff session.
//
// The flow state between the two requests lives in the browser, sealed
// (AES-256-GCM, a key the controller passes in, bound to this
// configuration and expiring after Config.FlowTimeout), so any controller
// replica can finish a sign-in another started and nothing is kept on the
// server. A flow state is good for one sign-in: the provider accepts each
// code once, and the console clears the cookie on the callback.
//
// README.md beside this file has configuration examples.
package sso
