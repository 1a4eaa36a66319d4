package console

import (
	"net/http"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ssoStart sends the browser to the identity provider, keeping the flow's
// state (PKCE verifier, nonce, state, where to return) sealed in a cookie.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	next := s.safeNext(r.URL.Query().Get("next"))
	authURL, state, err := s.sso.Start(r.Context(), next)
	if err != nil {
		s.ssoFailed(w, r, err)
		return
	}
	http.SetCookie(w, s.sso.FlowCookie(state))
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// ssoCallback finishes the flow: the provider's answer is checked (state,
// PKCE, the ID token's signature, issuer, audience, expiry and nonce), the
// person's role comes from the rules, and a console session starts for
// the staff user linked to their identity (made on the first sign-in).
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	var state string
	if c, err := r.Cookie(s.ssoCookieName()); err == nil {
		state = c.Value
	}
	http.SetCookie(w, s.sso.ClearFlowCookie())
	id, next, err := s.sso.Finish(r.Context(), r.URL.Query(), state)
	if err != nil {
		s.ssoFailed(w, r, err)
		return
	}
	u, err := s.ssoStore.SignInStaffSSO(r.Context(), id, s.clock.Now())
	if err != nil {
		s.ssoFailed(w, r, err)
		return
	}
	secret, _, err := s.signIn.StartSession(r.Context(), u)
	if err != nil {
		s.internalError(w, r, nil, "starting the session", err)
		return
	}
	s.metrics.signIns.WithLabelValues("ok_sso").Inc()
	s.setCookie(w, sessionCookie, secret, 0)
	http.Redirect(w, r, s.safeNext(next), http.StatusSeeOther)
}

func (s *Server) ssoCookieName() string { return s.sso.FlowCookie("").Name }

// ssoFailed shows the sign-in page with why single sign-on did not work.
func (s *Server) ssoFailed(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusUnauthorized
	msg := "Single sign-on did not work: " + billing.ErrorMessage(err)
	switch billing.ErrorCode(err) {
	case billing.EUNAUTHORIZED, billing.EINVALID:
		s.metrics.signIns.WithLabelValues("sso_refused").Inc()
	default:
		s.log.Error("console: single sign-on", "err", err)
		status, msg = http.StatusBadGateway, "Single sign-on is not working now (the identity provider could not be reached or answered wrongly). Try again, or sign in with a password."
	}
	s.render(w, r, nil, status, "signin", view{Title: "Sign in", CSRF: s.preToken(w, r), Focus: "login", Error: msg, Data: s.signInData("", "")})
}
