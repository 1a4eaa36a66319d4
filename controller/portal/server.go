package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Deps are what the portal works with.
type Deps struct {
	// Store is the one store behind every port of the portal
	// (*postgres.DB).
	Store Ports
	// Charger takes card payments and puts cards on file (nil: the portal
	// shows balances but cannot take payments).
	Charger *charge.Service
	// Mailer sends sign-in codes (nil: sign-in by code is off; only captive
	// redirects sign in).
	Mailer notify.Sender
	// WallClock times captive tokens, which agents mint with their own
	// wall clocks. Default: the portal's clock. Give the real clock when
	// the portal's clock is a development clock moved ahead of real time.
	WallClock clock.Clock
}

//go:embed templates static
var assets embed.FS

// Server is the customer portal. Create it with [New]; serve
// [Server.Handler] at the path of Config.PublicURL.
type Server struct {
	cfg Config
	p   parsed
	// The ports, each used only by the handlers of its concern.
	sessions    SessionStore
	signIn      SignInStore
	captive     CaptiveStore
	accounts    AccountViewStore
	methodStore MethodStore
	payKeys     PayKeyStore
	ticketStore billing.TicketStore
	receipts    ReceiptStore
	charger     *charge.Service
	mailer      notify.Sender
	clock       clock.Clock
	wall        clock.Clock // captive tokens
	log         *slog.Logger
	pages       pages
	limiter     *limiter
	metrics     *metrics

	csrfKey, codeKey []byte
	handler          http.Handler
	// csp is the Content-Security-Policy of every page: the portal's own
	// origin only, plus what the payment fields need (cfg.Element).
	csp string
}

// New checks cfg and builds the portal. reg may be nil.
func New(cfg Config, deps Deps, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg = cfg.withDefaults()
	p, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("portal: no store")
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	if deps.WallClock == nil {
		deps.WallClock = clk
	}
	st := deps.Store
	s := &Server{cfg: cfg, p: p, sessions: st, signIn: st, captive: st, accounts: st, methodStore: st, payKeys: st, ticketStore: st, receipts: st, charger: deps.Charger, mailer: deps.Mailer, clock: clk, wall: deps.WallClock, log: log, pages: pg,
		limiter: newLimiter(cfg.SignInsPerMinute, time.Minute), metrics: newMetrics(reg),
		csrfKey: derive(cfg.Secrets[0], "csrf"), codeKey: derive(cfg.Secrets[0], "sign-in code")}
	if !p.secure {
		log.Warn("portal.public_url is plain http: session cookies are not marked Secure (development only)", "public_url", cfg.PublicURL)
	}
	s.csp = contentSecurityPolicy(cfg.Element)
	s.handler = s.routes()
	return s, nil
}

// derive makes a purpose-specific key from a master secret.
func derive(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("tollgate portal " + purpose))
	return m.Sum(nil)
}

// CaptiveKey is the key a POP's agent signs captive tokens with, derived
// from the current master secret; the controller sends it to the agent.
func (s *Server) CaptiveKey(pop string) captive.Key { return captive.DeriveKey(s.cfg.Secrets[0], pop) }

// PublicURL is the portal's base URL without a trailing slash.
func (s *Server) PublicURL() string { return s.p.base.String() }

// TokenTTL is how long captive tokens minted by agents are good: the
// longest the portal accepts.
const TokenTTL = captive.MaxLifetime

// Handler serves the portal under the path of Config.PublicURL.
func (s *Server) Handler() http.Handler { return s.handler }

// Path is the path the handler expects to be mounted at ("" or
// "/portal"); mount it for Path+"/" and Path.
func (s *Server) Path() string { return s.p.path }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.p.path
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticHandler(http.FileServerFS(static))))
	mux.Handle("GET "+p+"/static/payelement.js", staticHandler(http.HandlerFunc(servePayElementJS)))
	mux.HandleFunc("GET "+p+"/captive-portal/api", s.captiveAPI)

	mux.HandleFunc("GET "+p+"/{$}", s.home)
	mux.HandleFunc("POST "+p+"/signin", s.requestCode)
	mux.HandleFunc("GET "+p+"/signin/code", s.codeForm)
	mux.HandleFunc("POST "+p+"/signin/code", s.verifyCode)
	mux.HandleFunc("GET "+p+"/c/{token}", s.captiveSignIn)
	mux.HandleFunc("POST "+p+"/signout", s.signOut)

	auth := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		mux.HandleFunc(pattern, s.authed(h))
	}
	auth("GET "+p+"/account", s.account)
	auth("GET "+p+"/invoices/{id}", s.invoice)
	auth("GET "+p+"/invoices/{id}/pdf", s.invoicePDF)
	auth("GET "+p+"/receipts/{id}", s.receipt)
	auth("GET "+p+"/receipts/{id}/pdf", s.receiptPDF)
	auth("GET "+p+"/pay", s.payForm)
	auth("POST "+p+"/pay", s.pay)
	auth("GET "+p+"/pay/forms/{key}", s.payFormState)
	auth("GET "+p+"/pay/return", s.payReturn)
	auth("GET "+p+"/methods/return", s.methodReturn)
	auth("GET "+p+"/payments/{id}", s.paymentStatus)
	auth("GET "+p+"/payments/{id}/events", s.paymentEvents)
	auth("GET "+p+"/methods", s.methods)
	auth("POST "+p+"/methods", s.addMethod)
	auth("POST "+p+"/methods/{id}/default", s.defaultMethod)
	auth("POST "+p+"/methods/{id}/remove", s.removeMethod)
	auth("POST "+p+"/autopay", s.autopay)
	auth("GET "+p+"/tickets", s.tickets)
	auth("POST "+p+"/tickets", s.openTicket)
	auth("GET "+p+"/tickets/{id}", s.ticket)
	auth("POST "+p+"/tickets/{id}/reply", s.replyTicket)
	auth("POST "+p+"/tickets/{id}/close", s.closeTicket)
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	if p != "" {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
		})
	}
	return s.secure(mux)
}

// secure sets the headers every portal response carries and refuses
// cross-site form posts.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if s.p.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.sameOrigin(r) {
				s.metrics.refused.WithLabelValues("cross_site").Inc()
				s.errorPage(w, r, http.StatusForbidden, "This form came from another site, so it was not accepted. Go back to the portal and try again.")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses requests a browser marks as cross-site, and requests
// whose Origin is not the portal's.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o == s.p.base.Scheme+"://"+s.p.base.Host
	}
	return true
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// url is the path of a portal page, for links and redirects.
func (s *Server) url(path string) string { return s.p.path + path }

// idParam parses a positive id path parameter; 0 when malformed.
func idParam(r *http.Request, name string) int64 {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}
