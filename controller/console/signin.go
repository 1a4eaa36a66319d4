package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/staff"
)

// signInData is what the sign-in and code pages show.
type signInData struct {
	Login string
	Next  string
	// SSO names the single sign-on button ("" when SSO is off).
	SSO string
}

func (s *Server) signInData(login, next string) signInData {
	d := signInData{Login: login, Next: next}
	if s.sso != nil {
		d.SSO = s.sso.Name()
	}
	return d
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	if sess := s.currentSession(r); sess != nil {
		http.Redirect(w, r, s.safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	notice := ""
	if r.URL.Query().Get("changed") != "" {
		notice = "Your password is changed. Sign in with the new one."
	}
	s.render(w, r, nil, http.StatusOK, "signin", view{Title: "Sign in", CSRF: s.preToken(w, r), Focus: "login", Notice: notice,
		Data: s.signInData("", s.safeNext(r.URL.Query().Get("next")))})
}

// signInPassword checks the login and password; a user with a second
// factor then gets the code page, with the proof of the password in a
// short-lived cookie.
func (s *Server) signInPassword(w http.ResponseWriter, r *http.Request) {
	d := s.signInData(strings.TrimSpace(r.PostFormValue("login")), s.safeNext(r.PostFormValue("next")))
	if !s.checkCSRF(r, csrfFor("pre", s.cookie(r, preCookie))) {
		s.metrics.refused.WithLabelValues("csrf").Inc()
		s.render(w, r, nil, http.StatusForbidden, "signin", view{Title: "Sign in", CSRF: s.preToken(w, r), Focus: "login",
			Error: "The sign-in form had expired. Please sign in again.", Data: d})
		return
	}
	secret, _, _, err := s.signIn.SignIn(r.Context(), d.Login, r.PostFormValue("password"), "", s.clientAddr(r))
	var refusal *staff.Refusal
	if errors.As(err, &refusal) && refusal.Reason == staff.RefusedCodeNeeded {
		s.metrics.signIns.WithLabelValues(string(refusal.Reason)).Inc()
		s.setCookie(w, proofCookie, refusal.Proof, staff.ProofLifetime)
		s.render(w, r, nil, http.StatusOK, "code", view{Title: "Second factor", CSRF: s.preToken(w, r), Focus: "code", Data: d})
		return
	}
	s.finishSignIn(w, r, "signin", d, secret, err)
}

// signInCode checks the TOTP or recovery code against the proof cookie.
func (s *Server) signInCode(w http.ResponseWriter, r *http.Request) {
	d := s.signInData("", s.safeNext(r.PostFormValue("next")))
	proof := s.cookie(r, proofCookie)
	d.Login, _, _ = strings.Cut(proof, ".")
	if !s.checkCSRF(r, csrfFor("pre", s.cookie(r, preCookie))) || proof == "" {
		s.metrics.refused.WithLabelValues("csrf").Inc()
		s.render(w, r, nil, http.StatusForbidden, "signin", view{Title: "Sign in", CSRF: s.preToken(w, r), Focus: "login",
			Error: "The sign-in had expired. Please sign in again.", Data: d})
		return
	}
	secret, _, _, err := s.signIn.CompleteSecondFactor(r.Context(), d.Login, proof, r.PostFormValue("code"), s.clientAddr(r))
	s.finishSignIn(w, r, "code", d, secret, err)
}

// finishSignIn starts the session, or shows the refusal on the page the
// user came from (the sign-in page once the proof is no good).
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, from string, d signInData, secret string, err error) {
	var refusal *staff.Refusal
	switch {
	case errors.As(err, &refusal):
		s.metrics.signIns.WithLabelValues(string(refusal.Reason)).Inc()
		status, focus := http.StatusUnauthorized, "password"
		if refusal.Reason == staff.RefusedBackoff {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", retryAfterSeconds(refusal))
		}
		title := "Sign in"
		if from == "code" && refusal.Reason == staff.RefusedBadCode {
			title, focus = "Second factor", "code"
		} else {
			from = "signin"
			s.setCookie(w, proofCookie, "", -1)
		}
		s.render(w, r, nil, status, from, view{Title: title, CSRF: s.preToken(w, r), Focus: focus, Error: refusal.Error(), Data: d})
	case err != nil:
		s.internalError(w, r, nil, "signing in", err)
	default:
		s.metrics.signIns.WithLabelValues("ok").Inc()
		s.setCookie(w, proofCookie, "", -1)
		s.setCookie(w, sessionCookie, secret, 0)
		http.Redirect(w, r, d.Next, http.StatusSeeOther)
	}
}

func retryAfterSeconds(r *staff.Refusal) string {
	secs := int(r.RetryAfter.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return itoa(int64(secs))
}

// signOut ends the session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	sess := s.currentSession(r)
	if sess != nil {
		if !s.checkCSRF(r, csrfFor("session", sess.raw)) {
			s.metrics.refused.WithLabelValues("csrf").Inc()
			s.errorPage(w, r, sess, http.StatusForbidden, "The sign-out form had expired. Try again.")
			return
		}
		if err := s.store.EndStaffSession(r.Context(), sess.IDHash, s.clock.Now()); err != nil {
			s.internalError(w, r, sess, "signing out", err)
			return
		}
	}
	s.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, s.p.path+"/signin", http.StatusSeeOther)
}
