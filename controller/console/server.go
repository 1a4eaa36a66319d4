package console

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/sso"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/webassets"
)

// Store is what the console keeps in the database: staff sign-in and
// sessions (controller/postgres implements it).
type Store interface {
	staff.SignInStore
	// StaffSession returns a live session by the hash of its secret and its
	// user, recording use. EUNAUTHORIZED, naming why, when it has ended.
	StaffSession(ctx context.Context, idHash []byte, rules staff.SessionRules, now time.Time) (staff.Session, staff.User, error)
	// EndStaffSession signs a session out.
	EndStaffSession(ctx context.Context, idHash []byte, now time.Time) error
}

// Deps are what the console works with.
type Deps struct {
	// Store keeps staff sign-ins and sessions. Required.
	Store Store
	// API is the admin API's handler; the console calls it in-process for
	// every read and change. Required.
	API http.Handler
	// AsStaff returns ctx carrying u as the API's authenticated caller
	// (api.WithStaffUser), so the API applies u's role and names u in its
	// records. Required.
	AsStaff func(ctx context.Context, u staff.User) context.Context
	// Argon2 is the password hashing cost. Default staff.DefaultArgon2Params.
	Argon2 staff.Argon2Params
	// Rand makes session secrets. Default crypto/rand.
	Rand io.Reader
	// SSO is the single sign-on flow (nil: staff sign in with passwords
	// only), with SSOStore, which finds or makes the staff user of an SSO
	// identity.
	SSO      *sso.Flow
	SSOStore SSOStore
}

// SSOStore keeps the staff users of SSO identities (controller/postgres).
type SSOStore interface {
	// SignInStaffSSO returns the staff user linked to the identity, made
	// on first sign-in, with the role the rules gave; EUNAUTHORIZED for a
	// disabled user.
	SignInStaffSSO(ctx context.Context, id staff.SSOIdentity, now time.Time) (staff.User, error)
}

//go:embed templates static
var assets embed.FS

// Server is the staff console. Create it with [New] and serve
// [Server.Handler] at [Server.Path] and below.
type Server struct {
	// csp is every page's Content-Security-Policy (cardpayment.go).
	csp      string
	cfg      Config
	p        parsed
	store    Store
	signIn   *staff.SignIn
	rules    staff.SessionRules
	api      *client.Client
	asStaff  func(context.Context, staff.User) context.Context
	clock    clock.Clock
	log      *slog.Logger
	pages    pages
	metrics  *metrics
	sso      *sso.Flow
	ssoStore SSOStore
	handler  http.Handler
}

// New checks cfg and builds the console. reg may be nil.
func New(cfg Config, deps Deps, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg = cfg.withDefaults()
	p, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.API == nil || deps.AsStaff == nil {
		return nil, errors.New("console: Store, API and AsStaff are required")
	}
	if deps.Argon2 == (staff.Argon2Params{}) {
		deps.Argon2 = staff.DefaultArgon2Params
	}
	if deps.Rand == nil {
		deps.Rand = rand.Reader
	}
	if (deps.SSO == nil) != (deps.SSOStore == nil) {
		return nil, errors.New("console: SSO and SSOStore go together")
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	rules := staff.SessionRules{Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute}
	s := &Server{cfg: cfg, p: p, store: deps.Store, rules: rules,
		signIn:  &staff.SignIn{Store: deps.Store, Rules: rules, Params: deps.Argon2, Clock: clk, Rand: deps.Rand},
		api:     newAPIClient(deps.API),
		asStaff: deps.AsStaff, clock: clk, log: log, pages: pg, metrics: newMetrics(reg), sso: deps.SSO, ssoStore: deps.SSOStore}
	if !p.secure {
		log.Warn("console.public_url is plain http: session cookies are not marked Secure (development only)", "public_url", cfg.PublicURL)
	}
	s.csp = contentSecurityPolicy(cfg.Element)
	s.handler = s.routes()
	return s, nil
}

// Handler serves the console under [Server.Path].
func (s *Server) Handler() http.Handler { return s.handler }

// Path is where the console is mounted ("/staff"): mount the handler for
// Path and Path+"/".
func (s *Server) Path() string { return s.p.path }

// URL is the console's public address.
func (s *Server) URL() string { return s.p.origin + s.p.path + "/" }

// page is a handler for a signed-in user.
type page func(w http.ResponseWriter, r *http.Request, sess *session)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.p.path
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticHandler(http.FileServerFS(static))))
	mux.Handle("GET "+p+"/assets/", http.StripPrefix(p+"/assets/", webassets.Handler()))
	mux.Handle("GET "+p+"/static/payelement.js", staticHandler(http.HandlerFunc(servePayElementJS)))

	mux.HandleFunc("GET "+p+"/signin", s.signInForm)
	mux.HandleFunc("POST "+p+"/signin", s.signInPassword)
	mux.HandleFunc("POST "+p+"/signin/code", s.signInCode)
	mux.HandleFunc("POST "+p+"/signout", s.signOut)
	if s.sso != nil {
		mux.HandleFunc("GET "+p+"/sso/start", s.ssoStart)
		mux.HandleFunc("GET "+p+"/sso/callback", s.ssoCallback)
	}

	// Each page names the least role that may open it; the API checks
	// every change again with the user's role.
	for _, rt := range []struct {
		pattern string
		role    staff.Role
		h       page
	}{
		{"GET " + p + "/{$}", staff.RoleReader, s.dashboard},
		{"GET " + p + "/search", staff.RoleReader, s.search},
		{"GET " + p + "/password", staff.RoleReader, s.passwordForm},
		{"POST " + p + "/password", staff.RoleReader, s.changePassword},
		{"GET " + p + "/accounts/{id}", staff.RoleReader, s.account},
		{"POST " + p + "/accounts/{id}/act/{action}", staff.RoleBilling, s.act},
		{"GET " + p + "/accounts/{id}/statement.pdf", staff.RoleReader, s.statementPDF},
		{"GET " + p + "/invoices/{id}", staff.RoleReader, s.invoice},
		{"GET " + p + "/invoices/{id}/pdf", staff.RoleReader, s.invoicePDF},
		{"GET " + p + "/settings", staff.RoleAdmin, s.settings},
		{"POST " + p + "/settings/staff/{verb}", staff.RoleAdmin, s.staffAction},
		{"POST " + p + "/settings/tax-rates", staff.RoleAdmin, s.taxRate},
		{"POST " + p + "/settings/plans", staff.RoleAdmin, s.createPlan},
		{"GET " + p + "/settings/plans/{id}", staff.RoleAdmin, s.plan},
		{"POST " + p + "/settings/plans/{id}/{verb}", staff.RoleAdmin, s.planAction},
		{"GET " + p + "/settings/types/{id}", staff.RoleAdmin, s.accountType},
		{"POST " + p + "/settings/types/{id}", staff.RoleAdmin, s.saveAccountType},
		{"GET " + p + "/batches", staff.RoleReader, s.batches},
		{"POST " + p + "/batches", staff.RoleBilling, s.openBatch},
		{"GET " + p + "/batches/{id}", staff.RoleReader, s.onBatch(s.batch)},
		{"GET " + p + "/batches/{id}/accounts", staff.RoleBilling, s.onBatch(s.accountResults)},
		{"POST " + p + "/batches/{id}/lines", staff.RoleBilling, s.onBatch(s.addLine)},
		{"GET " + p + "/batches/{id}/lines/{line}", staff.RoleBilling, s.editLine},
		{"POST " + p + "/batches/{id}/lines/{line}", staff.RoleBilling, s.onBatch(s.addLine)},
		{"POST " + p + "/batches/{id}/lines/{line}/remove", staff.RoleBilling, s.removeLine},
		{"POST " + p + "/batches/{id}/import", staff.RoleBilling, s.onBatch(s.importFile)},
		{"GET " + p + "/batches/{id}/validation", staff.RoleReader, s.onBatch(s.validate)},
		{"GET " + p + "/batches/{id}/post", staff.RoleBilling, s.onBatch(s.confirmPost)},
		{"POST " + p + "/batches/{id}/post", staff.RoleBilling, s.onBatch(s.postBatch)},
		{"GET " + p + "/batches/{id}/deposit-slip.pdf", staff.RoleReader, s.onBatch(s.depositSlip)},
		{"GET " + p + "/runs", staff.RoleReader, s.runs},
		{"GET " + p + "/runs/preview", staff.RoleReader, s.runPreview},
		{"POST " + p + "/runs", staff.RoleBilling, s.startRun},
		{"GET " + p + "/runs/{id}", staff.RoleReader, s.run},
		{"POST " + p + "/runs/{id}/deliveries/resend", staff.RoleBilling, s.resendRunDeliveries},
		{"GET " + p + "/runs/{id}/printed-invoices.pdf", staff.RoleReader, s.printedInvoices},
		{"GET " + p + "/suspensions", staff.RoleReader, s.suspensions},
		{"GET " + p + "/reports", staff.RoleReader, s.reportsPage},
		{"GET " + p + "/reports/csv/{name}", staff.RoleReader, s.reportCSV},
		{"GET " + p + "/reports/pdf/ar-aging", staff.RoleReader, s.agingPDF},
		{"POST " + p + "/reports/close", staff.RoleBilling, s.closeMonth},
		{"POST " + p + "/reports/export", staff.RoleBilling, s.accountingExport},
		{"GET " + p + "/suspensions/{id}", staff.RoleReader, s.suspension},
		{"POST " + p + "/suspensions/{id}", staff.RoleBilling, s.decideSuspensions},
		{"GET " + p + "/tickets", staff.RoleReader, s.tickets},
		{"GET " + p + "/tickets/{id}", staff.RoleReader, s.ticket},
		{"POST " + p + "/tickets/{id}/replies", staff.RoleBilling, s.replyTicket},
		{"POST " + p + "/tickets/{id}/close", staff.RoleBilling, s.closeTicket},
		{"GET " + p + "/deliveries", staff.RoleReader, s.deliveries},
		{"GET " + p + "/notices", staff.RoleReader, s.notices},
	} {
		mux.HandleFunc(rt.pattern, s.authed(rt.role, rt.h))
	}
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, s.currentSession(r), http.StatusNotFound, "There is no such page in the console.")
	})
	mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
	})
	return s.secure(mux)
}

// secure sets the headers every console response carries and refuses
// cross-site form posts.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if s.p.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.sameOrigin(r) {
				s.metrics.refused.WithLabelValues("cross_site").Inc()
				s.errorPage(w, r, nil, http.StatusForbidden, "This form came from another site, so it was not accepted. Go back to the console and try again.")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, 4<<20) // a lockbox file fits
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses requests a browser marks as cross-site, and requests
// whose Origin is not the console's.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o == s.p.origin
	}
	return true
}

// staticHandler serves the console's own files, revalidated hourly.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}
