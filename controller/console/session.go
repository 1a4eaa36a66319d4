package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// session is the signed-in staff user of a request.
type session struct {
	staff.Session
	User staff.User
	// raw is the cookie's secret, from which the CSRF token is derived.
	raw string
}

// Cookie names (with the __Secure- prefix over https).
const (
	sessionCookie = "tg_staff"       // the session secret
	preCookie     = "tg_staff_pre"   // before sign-in: binds the sign-in form's CSRF token
	proofCookie   = "tg_staff_proof" // between the password and the code
)

var b64 = base64.RawURLEncoding

func (s *Server) cookieName(name string) string {
	if s.p.secure {
		return "__Secure-" + name
	}
	return name
}

// setCookie sets an HttpOnly, SameSite=Strict cookie for the console's
// path; maxAge 0 is a browser-session cookie, negative deletes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: s.cookieName(name), Value: value, Path: s.p.path, HttpOnly: true, Secure: s.p.secure, SameSite: http.SameSiteStrictMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return b64.EncodeToString(b)
}

// currentSession returns the request's live session, or nil.
func (s *Server) currentSession(r *http.Request) *session {
	raw := s.cookie(r, sessionCookie)
	if raw == "" || len(raw) > 128 {
		return nil
	}
	sess, u, err := s.store.StaffSession(r.Context(), staff.HashSecret(raw), s.rules, s.clock.Now())
	if err != nil {
		if billing.ErrorCode(err) != billing.EUNAUTHORIZED {
			s.log.Error("console: reading a session", "err", err)
		}
		return nil
	}
	return &session{Session: sess, User: u, raw: raw}
}

// authed runs h for a signed-in user whose role includes min; a form post
// must carry the session's CSRF token. Without a session it sends the
// browser to sign in (and back here afterwards).
func (s *Server) authed(min staff.Role, h page) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.currentSession(r)
		if sess == nil {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = s.p.path + "/"
			}
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", s.p.path+"/signin?next="+url.QueryEscape(next))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, s.p.path+"/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if !roleAllows(sess.User.Role, min) {
			s.metrics.refused.WithLabelValues("role").Inc()
			s.errorPage(w, r, sess, http.StatusForbidden, "Your role ("+string(sess.User.Role)+") may not open this page; it needs "+string(min)+".")
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r, csrfFor("session", sess.raw)) {
			s.metrics.refused.WithLabelValues("csrf").Inc()
			s.errorPage(w, r, sess, http.StatusForbidden, "This form had expired (or came from elsewhere), so it was not accepted. The page has been reloaded: try again.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, sess)
	}
}

// roleAllows reports whether have includes need (reader < billing < admin).
func roleAllows(have, need staff.Role) bool {
	rank := map[staff.Role]int{staff.RoleReader: 1, staff.RoleBilling: 2, staff.RoleAdmin: 3}
	return rank[have] >= rank[need] && rank[need] > 0
}

// csrfFor is the CSRF token of a secret only the browser's HttpOnly
// cookie and the server see: the session's, or before sign-in the
// pre-session cookie's. Nothing else needs to be kept.
func csrfFor(purpose, cookieSecret string) string {
	sum := sha256.Sum256([]byte("tollgate console csrf\x00" + purpose + "\x00" + cookieSecret))
	return b64.EncodeToString(sum[:])
}

func (s *Server) checkCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// preToken returns the CSRF token for forms shown before sign-in, setting
// the pre-session cookie when there is none.
func (s *Server) preToken(w http.ResponseWriter, r *http.Request) string {
	v := s.cookie(r, preCookie)
	if len(v) < 32 || len(v) > 64 {
		v = randomString(24)
		s.setCookie(w, preCookie, v, 0)
	}
	return csrfFor("pre", v)
}

// clientAddr is the user's address (see package clientaddr), for the
// sign-in backoff.
func (s *Server) clientAddr(r *http.Request) string {
	if a := s.p.proxies.Of(r); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

// safeNext is where to go after sign-in: a path inside the console, or
// the dashboard.
func (s *Server) safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		(u.Path != s.p.path && !strings.HasPrefix(u.Path, s.p.path+"/")) {
		return s.p.path + "/"
	}
	return next
}
