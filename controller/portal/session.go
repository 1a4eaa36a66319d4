package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// session is the signed-in subscriber of a request.
type session struct {
	billing.PortalSession
	// Account is the signed-in account, read for every request.
	Account billing.Account
	// raw is the cookie's secret (to bind CSRF tokens to the session).
	raw string
}

var b64 = base64.RawURLEncoding

func (s *Server) cookieName(name string) string {
	if s.p.secure {
		return "__Secure-" + name
	}
	return name
}

func (s *Server) cookiePath() string {
	if s.p.path == "" {
		return "/"
	}
	return s.p.path
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration, sameSite http.SameSite) {
	c := &http.Cookie{Name: s.cookieName(name), Value: value, Path: s.cookiePath(), HttpOnly: true, Secure: s.p.secure, SameSite: sameSite}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return b64.EncodeToString(b)
}

func hashSecret(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// currentSession returns the request's live session, or nil.
func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(s.cookieName("tg_session"))
	if err != nil || len(c.Value) < 40 || len(c.Value) > 64 {
		return nil
	}
	ps, err := s.sessions.PortalSession(r.Context(), hashSecret(c.Value), s.clock.Now(), s.cfg.IdleTimeout)
	if err != nil {
		if billing.ErrorCode(err) != billing.EUNAUTHORIZED {
			s.log.Error("reading a portal session", "err", err)
		}
		return nil
	}
	return &session{PortalSession: ps, raw: c.Value}
}

// startSession signs the browser in to accountID.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, accountID int64, via string, serviceID int64) error {
	if old := s.currentSession(r); old != nil {
		_ = s.sessions.EndPortalSession(r.Context(), old.IDHash, s.clock.Now())
	}
	raw := randomString(32)
	now := s.clock.Now()
	ttl := s.cfg.SessionTTL
	if via == billing.SignInCaptive {
		ttl = s.cfg.CaptiveSessionTTL
	}
	err := s.sessions.CreatePortalSession(r.Context(), billing.PortalSession{IDHash: hashSecret(raw), AccountID: accountID, Via: via,
		ServiceID: serviceID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return err
	}
	s.setCookie(w, "tg_session", raw, 0, http.SameSiteLaxMode)
	// A new CSRF cookie too, so no token from before sign-in is good after.
	s.setCookie(w, "tg_csrf", randomString(24), 0, http.SameSiteStrictMode)
	return nil
}

// authed wraps a handler that needs a signed-in subscriber; others go to
// the sign-in page. Authenticated pages are never cached.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		sess := s.currentSession(r)
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, s.url("/?expired=1"), http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "Your session ended. Sign in again.")
			return
		}
		if r.Method == http.MethodPost && s.refusedCSRF(w, r, sess) {
			return
		}
		acct, err := s.accounts.Account(r.Context(), sess.AccountID)
		if err != nil {
			s.internalError(w, r, "reading an account", err)
			return
		}
		sess.Account = acct
		h(w, r, sess)
	}
}

// csrfToken is the token forms carry: an HMAC over the browser's CSRF
// cookie and the session (if any). It sets the cookie when the browser has
// none yet; call it once per response.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request, sess *session) string {
	var v string
	if c, err := r.Cookie(s.cookieName("tg_csrf")); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		v = c.Value
	} else {
		v = randomString(24)
		s.setCookie(w, "tg_csrf", v, 0, http.SameSiteStrictMode)
	}
	return s.csrfFor(v, sess)
}

func (s *Server) csrfFor(cookie string, sess *session) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(cookie))
	if sess != nil {
		m.Write([]byte{0})
		m.Write([]byte(sess.raw))
	}
	return b64.EncodeToString(m.Sum(nil))
}

// refusedCSRF answers 403 and returns true when the form's CSRF token is
// missing or wrong.
//
// It also refuses (422) a form with a value Tollgate does not store (see
// badFormValue): every form of the portal passes here.
func (s *Server) refusedCSRF(w http.ResponseWriter, r *http.Request, sess *session) bool {
	if !s.checkCSRF(r, sess) {
		s.metrics.refused.WithLabelValues("csrf").Inc()
		s.errorPage(w, r, http.StatusForbidden, "This form expired. Go back, reload the page and try again.")
		return true
	}
	if field, ok := badFormValue(r); ok {
		s.metrics.refused.WithLabelValues("form").Inc()
		s.errorPage(w, r, http.StatusUnprocessableEntity, "The "+field+" field holds characters that cannot be stored (control characters). Go back, remove them and try again.")
		return true
	}
	return false
}

// multilineFormFields are the portal's form fields that may hold line
// breaks and tabs (a ticket's message).
var multilineFormFields = map[string]bool{"body": true}

// badFormValue reports the first posted form field (in name order) whose
// value is not text Tollgate stores: invalid UTF-8, a control character
// (line breaks and tabs only in multi-line fields) or longer than 10,000
// characters.
func badFormValue(r *http.Request) (field string, bad bool) {
	_ = r.ParseForm() // PostFormValue has parsed it already
	names := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.PostForm[k] {
			if billing.CheckText(k, false, 100) != nil || billing.CheckText(v, multilineFormFields[k], 10_000) != nil {
				return strconv.QuoteToASCII(k), true
			}
		}
	}
	return "", false
}

func (s *Server) checkCSRF(r *http.Request, sess *session) bool {
	c, err := r.Cookie(s.cookieName("tg_csrf"))
	if err != nil || c.Value == "" {
		return false
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfFor(c.Value, sess))) == 1
}

// clientAddr is the subscriber's address (see package clientaddr).
func (s *Server) clientAddr(r *http.Request) netip.Addr { return s.p.proxies.Of(r) }

// limiter is a token bucket per key (client address), for one replica.
type limiter struct {
	mu      sync.Mutex
	perIval int
	ival    time.Duration
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(n int, per time.Duration) *limiter {
	return &limiter{perIval: n, ival: per, buckets: make(map[string]*bucket)}
}

// allow takes a token from key's bucket at now.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.ival {
		for k, b := range l.buckets {
			if now.Sub(b.at) > l.ival {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.perIval), at: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(l.perIval), b.tokens+now.Sub(b.at).Seconds()*float64(l.perIval)/l.ival.Seconds())
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
