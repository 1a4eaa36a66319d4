package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
)

type signInData struct {
	Number   string
	CodeSent bool
	CanCode  bool
}

// home is the sign-in page, or the account for a signed-in subscriber.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if s.currentSession(r) != nil {
		http.Redirect(w, r, s.url("/account"), http.StatusSeeOther)
		return
	}
	v := view{Title: "Sign in", Data: signInData{CanCode: s.mailer != nil}}
	if r.URL.Query().Get("expired") != "" {
		v.Notice = "Your session ended. Sign in again."
	}
	if r.URL.Query().Get("signedout") != "" {
		v.Notice = "You are signed out."
	}
	s.render(w, r, http.StatusOK, "signin", nil, v)
}

// limited applies the per-address sign-in limit; false means the answer
// was already written.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, via string) bool {
	if s.limiter.allow(s.clientAddr(r).String(), s.clock.Now()) {
		return false
	}
	s.metrics.refused.WithLabelValues("rate_limit").Inc()
	s.metrics.signIns.WithLabelValues(via, "limited").Inc()
	w.Header().Set("Retry-After", "60")
	s.errorPage(w, r, http.StatusTooManyRequests, "Too many sign-in attempts from your connection. Wait a minute and try again.")
	return true
}

func (s *Server) codeHash(accountID int64, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(accountID)))
	m.Write([]byte(code))
	return m.Sum(nil)
}

// newCode is a uniformly random six-digit code.
func newCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1_000_000)
}

// requestCode sends a one-time code to the account's email. The answer is
// the same whether or not the account exists, has an email or is over its
// limit, so the form cannot be used to probe account numbers.
func (s *Server) requestCode(w http.ResponseWriter, r *http.Request) {
	if s.refusedCSRF(w, r, nil) {
		return
	}
	if s.limited(w, r, billing.SignInCode) {
		return
	}
	number := strings.TrimSpace(r.PostFormValue("account"))
	if number == "" || len(number) > 40 {
		s.render(w, r, http.StatusUnprocessableEntity, "signin", nil, view{Title: "Sign in", Error: "Enter your account number, as printed on your invoice.",
			Data: signInData{CanCode: s.mailer != nil}})
		return
	}
	if s.mailer == nil {
		s.render(w, r, http.StatusServiceUnavailable, "signin", nil, view{Title: "Sign in",
			Error: "Sign-in codes cannot be sent right now. Contact us to pay or get help.", Data: signInData{}})
		return
	}
	result := s.sendCode(r, number)
	s.metrics.codes.WithLabelValues(result).Inc()
	q := url.Values{"account": {strings.ToUpper(number)}, "sent": {"1"}}
	http.Redirect(w, r, s.url("/signin/code?"+q.Encode()), http.StatusSeeOther)
}

// sendCode creates and emails a code; it returns the metric result.
func (s *Server) sendCode(r *http.Request, number string) string {
	ctx := r.Context()
	acct, err := s.signIn.AccountByNumber(ctx, number)
	if err != nil {
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			s.log.Error("portal: looking up an account for a sign-in code", "err", err)
			return "send_failed"
		}
		return "unknown_account"
	}
	if acct.Email == "" {
		return "no_email"
	}
	code := newCode()
	now := s.clock.Now()
	ok, err := s.signIn.CreatePortalCode(ctx, acct.ID, s.codeHash(acct.ID, code), s.clientAddr(r).String(), now, now.Add(s.cfg.CodeTTL),
		s.cfg.CodeWindow, s.cfg.CodesPerWindow)
	if err != nil {
		s.log.Error("portal: storing a sign-in code", "account_id", acct.ID, "err", err)
		return "send_failed"
	}
	if !ok {
		s.log.Warn("portal: sign-in code limit reached", "account_id", acct.ID)
		return "account_limit"
	}
	msg := notify.Message{To: acct.Email, Subject: fmt.Sprintf("Your %s sign-in code", s.cfg.Company.Name),
		TextBody: fmt.Sprintf("Your sign-in code for account %s is\n\n    %s\n\nIt works once, for %d minutes. If you did not ask for it, ignore this message.\n\n%s\n",
			acct.Number, code, int(s.cfg.CodeTTL.Minutes()), s.cfg.Company.Name)}
	if err := s.mailer.Send(ctx, msg); err != nil {
		s.log.Error("portal: emailing a sign-in code", "account_id", acct.ID, "err", err)
		return "send_failed"
	}
	s.log.Info("portal: sign-in code sent", "account_id", acct.ID)
	return "sent"
}

func (s *Server) codeForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := view{Title: "Enter your code", Data: signInData{Number: q.Get("account"), CodeSent: q.Get("sent") != "", CanCode: s.mailer != nil}}
	if q.Get("sent") != "" {
		v.Notice = fmt.Sprintf("If %s is an account with an email address on file, a six-digit code is on its way. At most %d codes are sent per %d minutes.",
			q.Get("account"), s.cfg.CodesPerWindow, int(s.cfg.CodeWindow.Minutes()))
	}
	s.render(w, r, http.StatusOK, "code", nil, v)
}

func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) {
	if s.refusedCSRF(w, r, nil) {
		return
	}
	if s.limited(w, r, billing.SignInCode) {
		return
	}
	number := strings.TrimSpace(r.PostFormValue("account"))
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	wrong := func() {
		s.metrics.signIns.WithLabelValues(billing.SignInCode, "wrong_code").Inc()
		s.render(w, r, http.StatusUnauthorized, "code", nil, view{Title: "Enter your code",
			Error: "That code is not right, or it expired. Check the latest email, or ask for a new code.",
			Data:  signInData{Number: number, CanCode: s.mailer != nil}})
	}
	if _, err := strconv.Atoi(code); err != nil || len(code) != 6 || number == "" {
		wrong()
		return
	}
	acct, err := s.signIn.AccountByNumber(r.Context(), number)
	if err != nil {
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			wrong()
			return
		}
		s.internalError(w, r, "looking up an account", err)
		return
	}
	ok, err := s.signIn.RedeemPortalCode(r.Context(), acct.ID, s.codeHash(acct.ID, code), s.clock.Now(), s.cfg.CodeAttempts)
	if err != nil {
		s.internalError(w, r, "checking a sign-in code", err)
		return
	}
	if !ok {
		s.log.Info("portal: wrong sign-in code", "account_id", acct.ID)
		wrong()
		return
	}
	if err := s.startSession(w, r, acct.ID, billing.SignInCode, 0); err != nil {
		s.internalError(w, r, "starting a session", err)
		return
	}
	s.metrics.signIns.WithLabelValues(billing.SignInCode, "ok").Inc()
	s.log.Info("portal: signed in", "account_id", acct.ID, "via", billing.SignInCode)
	http.Redirect(w, r, s.url("/account"), http.StatusSeeOther)
}

// captiveSignIn trades a redirect token for a session and drops the token
// from the address bar. A token signs in once, only while it is young
// (captive.MaxLifetime), and only while its service is suspended: the link
// is the walled garden's way to the account page, not a standing key to
// it. Every refusal shows the sign-in page saying why.
func (s *Server) captiveSignIn(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, billing.SignInCaptive) {
		return
	}
	token := r.PathValue("token")
	refuse := func(result, why, msg string) {
		s.metrics.signIns.WithLabelValues(billing.SignInCaptive, result).Inc()
		s.log.Info("portal: captive token refused", "reason", why)
		s.render(w, r, http.StatusUnauthorized, "signin", nil, view{Title: "Sign in", Error: msg,
			Data: signInData{CanCode: s.mailer != nil}})
	}
	bad := func(why error) {
		msg := "This link is not valid."
		if errors.Is(why, captive.ErrExpired) {
			msg = "This link has expired."
		}
		refuse("bad_token", why.Error(), msg+" Open any web page again to get a new one, or sign in with your account number.")
	}
	claims, err := captive.Parse(token)
	if err != nil {
		bad(err)
		return
	}
	keys := make([]captive.Key, len(s.cfg.Secrets))
	for i, m := range s.cfg.Secrets {
		keys[i] = captive.DeriveKey(m, claims.POP)
	}
	now := s.wall.Now()
	claims, err = captive.Verify(token, now, keys...)
	if err != nil {
		bad(err)
		return
	}
	// Used up first, whatever happens next: any use of a token is its one
	// use.
	fresh, err := s.captive.UseCaptiveToken(r.Context(), claims.ID, claims.ServiceID, now, claims.Expires, captive.ClockSkew)
	if err != nil {
		s.internalError(w, r, "recording a captive token's use", err)
		return
	}
	if !fresh {
		refuse("reused_token", "the token was already used",
			"This link was already used. Open any web page again to get a new one, or sign in with your account number.")
		return
	}
	svc, err := s.captive.Service(r.Context(), claims.ServiceID)
	switch {
	case billing.ErrorCode(err) == billing.ENOTFOUND:
		bad(errors.New("the token's service does not exist"))
		return
	case err != nil:
		s.internalError(w, r, "reading a captive token's service", err)
		return
	case svc.POP != claims.POP:
		bad(fmt.Errorf("the token's service is at POP %s, not %s", svc.POP, claims.POP))
		return
	case svc.AccountID == nil:
		bad(errors.New("the token's service has no account"))
		return
	case !svc.DesiredState.LosesService():
		refuse("not_suspended", fmt.Sprintf("the token's service is %s, not suspended", svc.DesiredState),
			"This link signs you in only while your service is suspended, and it is not. Sign in with your account number.")
		return
	}
	if err := s.startSession(w, r, *svc.AccountID, billing.SignInCaptive, svc.ID); err != nil {
		s.internalError(w, r, "starting a session", err)
		return
	}
	s.metrics.signIns.WithLabelValues(billing.SignInCaptive, "ok").Inc()
	s.log.Info("portal: signed in", "account_id", *svc.AccountID, "via", billing.SignInCaptive, "service_id", svc.ID, "pop", svc.POP)
	http.Redirect(w, r, s.url("/account"), http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	sess := s.currentSession(r)
	if sess != nil {
		if s.refusedCSRF(w, r, sess) {
			return
		}
		if err := s.sessions.EndPortalSession(r.Context(), sess.IDHash, s.clock.Now()); err != nil {
			s.internalError(w, r, "ending a session", err)
			return
		}
	}
	s.setCookie(w, "tg_session", "", -1, http.SameSiteLaxMode)
	http.Redirect(w, r, s.url("/?signedout=1"), http.StatusSeeOther)
}
